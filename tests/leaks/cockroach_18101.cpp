// cockroach_18101 -- Go's goroutine leak profile test Cockroach18101 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/cockroach18101.go; GoKer
// goker/blocking/cockroach/18101, cockroachdb/cockroach PR 18101, fix 822bd17).
//
// Shape: restore() starts splitAndScatter(), which sends 8 spans on a channel with a buffer of
// 6, and returns as soon as its context is cancelled. The cancellation stops the reader but not
// the writer: splitAndScatter() blocks on the full channel forever. Go expects restore's
// goroutine in "chan send".
//
// Fix (upstream): splitAndScatter() sends in a select with ctx.Done(), so the cancellation
// stops it too.
//
// Adaptations: the context is a Chan<char> closed by cancel(); the goroutines are Procs nobody
// joins (go()). Go runs restore in a goroutine (100 times); here main calls it once: a Proc's
// children end with it, so splitAndScatter would not outlive a goroutine that returns, as Go's
// does. Spans are bools.
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;
using ceramic::leaks::go;

constexpr std::size_t kChanSize = 6;

void split_and_scatter(Chan<char>& ctx_done, Chan<bool>& ready, bool fixed) {
  for (std::size_t i = 0; i < kChanSize + 2; ++i) {
    if (!fixed) {
      ready.send(i != 0);  // @leak
    } else {
      bool cancelled = false;
      select(on_send(ready, i != 0, [] {}),
             on_recv(ctx_done, [&](std::optional<char>) { cancelled = true; }));
      if (cancelled) return;
    }
  }
}

bool restore(Chan<char>& ctx_done, bool fixed) {
  Chan<bool> ready_for_import(ChanOptions{.capacity = kChanSize});
  go("splitAndScatter", [&] {
    split_and_scatter(ctx_done, ready_for_import, fixed);
    ready_for_import.close();   // defer close(readyForImportCh)
  });
  for (bool span : ready_for_import) {
    (void)ctx_done.recv();   // select { case <-ctx.Done(): return span }
    return span;
  }
  return true;
}

void run(bool fixed) {
  Chan<char> ctx_done;
  go("cancel", [&] { ctx_done.close(); });
  (void)restore(ctx_done, fixed);
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "cockroach_18101",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "cancellation stops the reader, the writer blocks on a full channel",
}};

}  // namespace
