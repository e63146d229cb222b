// cockroach_25456 -- Go's goroutine leak profile test Cockroach25456 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/cockroach25456.go; GoKer
// goker/blocking/cockroach/25456, cockroachdb/cockroach PR 25456).
//
// Shape: when a consistency check fails, the consistency queue asks whether the store is
// quiescing to decide whether the error is worth logging, and asks with a plain receive on the
// stopper's ShouldQuiesce channel: it blocks until the store starts draining, which in the
// test it never does. Go expects the goroutine processing the replica in "chan receive".
//
// Fix (upstream, GoBench's goreal patch): the question is asked without blocking, a select on
// ShouldQuiesce with a default.
//
// Adaptations: the stopper's quiescer is a Chan<char> that would be closed to quiesce (nobody
// does); the goroutine is a Proc nobody joins (go()). It processes the replica twice, as Go's.
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::select;
using ceramic::leaks::go;

struct Stopper {
  Chan<char> quiescer;   // ShouldQuiesce(): closed when the store drains
};

// consistencyQueue.process, after CheckConsistency has returned an error.
void process(Stopper& stopper, bool fixed) {
  bool should_quiesce = false;
  if (!fixed) {
    (void)stopper.quiescer.recv();  // @leak
    should_quiesce = true;
  } else {
    select(on_recv(stopper.quiescer, [&](std::optional<char>) { should_quiesce = true; }),
           on_default([] {}));
  }
  (void)should_quiesce;   // decides whether the error is logged
}

void run(bool fixed) {
  go("consistencyQueue", [fixed] {
    Stopper stopper;
    for (int i = 0; i < 2; ++i) process(stopper, fixed);
  });
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "cockroach_25456",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a failed check waits for the store to quiesce instead of asking",
}};

}  // namespace
