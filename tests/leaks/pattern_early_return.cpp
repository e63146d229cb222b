// pattern_early_return -- Go's goroutine leak profile test EarlyReturn (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/commonpatterns.go; Saioc et al., CGO 2024).
//
// Shape: earlyReturn starts a goroutine that sends its result on an unbuffered channel, and
// on an error returns before receiving it: the sender blocks forever. Go expects the sender
// reported in "chan send".
//
// Fix (the pattern's): the result channel has room for the result (capacity 1), so the send
// never waits for a receiver.
//
// Adaptations: the sender is a Proc nobody joins (go()). Go's test runs earlyReturn in a
// goroutine of its own; here main calls it (a Proc's children end with it, so from a
// goroutine that returns, the sender would not outlive it as Go's does).
#include <cstddef>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::leaks::go;

void early_return(bool error, std::size_t capacity) {
  Chan<int> ch(ChanOptions{.capacity = capacity});
  go("sender", [&] {
    ch.send(1);  // @leak
  });
  if (error) return;   // the sender is never received from
  (void)ch.recv();
}

void bug() { early_return(true, 0); }
void fix() { early_return(true, 1); }

const ceramic::leaks::Registration registered{{
    .name = "pattern_early_return",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "an early return leaves the result sender blocked",
}};

}  // namespace
