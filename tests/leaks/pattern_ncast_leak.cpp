// pattern_ncast_leak -- Go's goroutine leak profile test NCastLeak (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/commonpatterns.go; Saioc et al., CGO 2024).
//
// Shape: nCastLeak starts one goroutine per item, each sending its result on an unbuffered
// channel, and receives only the first result: every other sender blocks forever. With no
// items, the receive itself blocks forever. Go's test runs both and expects the senders in
// "chan send" and the receiving goroutine in "chan receive".
//
// Fix (the pattern's): the channel has room for every result (capacity len(items)), and with
// no items there is nothing to receive.
//
// Adaptations: the goroutines are Procs nobody joins (go()). The call without items blocks,
// so it stays a goroutine; the call with five returns, and runs in main (a Proc's children end
// with it, so the senders would not outlive a goroutine that returns, as Go's do).
#include <cstddef>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::leaks::go;

void ncast_leak(int items, bool fixed) {
  if (fixed && items == 0) return;
  Chan<int> ch(ChanOptions{.capacity = fixed ? static_cast<std::size_t>(items) : 0});
  for (int i = 0; i < items; ++i) {
    go("sender", [&] {
      ch.send(1);  // @leak
    });
  }
  (void)ch.recv();  // @leak
}

void run(bool fixed) {
  go("nCastLeak(nil)", [fixed] { ncast_leak(0, fixed); });
  ncast_leak(5, fixed);
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "pattern_ncast_leak",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "n senders answer, one answer is received, the others block",
}};

}  // namespace
