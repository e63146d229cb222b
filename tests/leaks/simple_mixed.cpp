// simple_mixed -- Go's goroutine leak profile test Mixed (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/simple.go).
//
// Shape: a goroutine starts a helper that sends on an unbuffered channel and then marks a
// WaitGroup done; the goroutine waits for the WaitGroup before it receives. The helper cannot
// send before the receive, the receive comes after the wait: both block forever. Go expects
// the goroutine reported in "sync.WaitGroup.Wait" and the helper in "chan send".
//
// Fix (the test has none; the natural one): receive first, then wait for the helper.
//
// Adaptations: the outer goroutine is a Proc nobody joins (go()); the WaitGroup of one helper
// is that helper's join (Proc::join, a traced wait), so the blocking path is a channel and a
// join.
#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
using ceramic::leaks::go;

void run(bool fixed) {
  go("outer", [fixed] {
    Chan<int> ch;
    Proc helper("helper", [&] {
      ch.send(0);  // @leak
    });
    if (fixed) (void)ch.recv();
    helper.join();  // @leak
    if (!fixed) (void)ch.recv();
  });
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "simple_mixed",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a goroutine waits for a helper that waits for it to receive",
}};

}  // namespace
