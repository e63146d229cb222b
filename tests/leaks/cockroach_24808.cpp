// cockroach_24808 -- Go's goroutine leak profile test Cockroach24808 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/cockroach24808.go; GoKer
// goker/blocking/cockroach/24808, cockroachdb/cockroach PR 24808).
//
// Shape: the compactor's Start() signals its channel (a buffer of one) before it starts the
// worker that drains it. A suggestion made before Start() has already filled the buffer, so
// Start()'s own signal blocks forever. Go expects the test goroutine in "chan send".
//
// Fix (upstream): the signal is sent without blocking (a select with a default): a pending
// signal already asks for a compaction, so dropping the second loses nothing.
//
// Adaptations: the stopper's channel is a Chan<char> closed by Stop() (deferred in Go: here at
// the end of the goroutine); the goroutine and the worker are Procs nobody joins (go()). The
// stopper's WaitGroup is never waited on, in Go too, and is left out. In the fix the worker
// may still be waiting when the goroutine ends, and ends with it: the close of the stopper
// has released it.
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;
using ceramic::leaks::go;

struct Compactor {
  Chan<char> ch{ChanOptions{.capacity = 1}};

  void start(Chan<char>& stopper, bool fixed) {
    if (!fixed) {
      ch.send(1);  // @leak
    } else {
      select(on_send(ch, char{1}, [] {}), on_default([] {}));
    }
    go("compactor", [&] {   // stopper.RunWorker
      bool stopped = false;
      while (!stopped) {
        select(on_recv(stopper, [&](std::optional<char>) { stopped = true; }),
               on_recv(ch, [](std::optional<char>) {}));
      }
    });
  }
};

void run(bool fixed) {
  go("test", [fixed] {
    Chan<char> stopper;
    Compactor compactor;
    compactor.ch.send(1);   // a suggestion before Start()
    compactor.start(stopper, fixed);
    stopper.close();        // defer stopper.Stop()
  });
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "cockroach_24808",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "Start() signals a full channel before starting the worker that drains it",
}};

}  // namespace
