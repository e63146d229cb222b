// moby_21233 -- Go's goroutine leak profile test Moby21233 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/moby21233.go; GoKer
// goker/blocking/moby/21233, moby/moby PR 21233, fix 2f4aa96).
//
// Shape: a transfer test consumes progress updates from an unbuffered channel in a goroutine
// that gives up (t.Fatalf, which ends that goroutine) on an unexpected update. The transfers'
// watchers keep writing progress to the channel nobody reads any more, so Release(), which
// waits for its watcher to finish, blocks forever, and the test with it. Go expects the
// watchers in "chan send" (or in "select", waiting for a release that never comes) and the
// test in "chan receive".
//
// Fix (upstream): the consumer no longer returns early; it records the problem and keeps
// draining until the channel is closed.
//
// Adaptations: Go decides at random whether a watcher writes progress and whether the consumer
// gives up; the port always writes and gives up after the first update (the random choices only
// decide whether the leak shows). Then every watcher ends up blocked writing (the first
// written-to watcher too, once released) and the test blocks in the first Release. The
// transfer's and the manager's mutexes are locked and unlocked with nothing in between and
// never block, so they are left out; so are the sleeps. The test goroutine, the consumer and the
// watchers are Procs nobody joins (go()). Three transfers, as in Go.
//
// Which watcher's update the consumer takes before it gives up decides where the others wait:
// a watcher whose update went through and that is not released first waits in its select
// (`// @may-leak`), the others block writing. Live (live_bug), the second and third watchers
// wait at a gate that the consumer opens when it gives up, so the first one's update is the
// one taken: released first, it writes again, and all three block writing.
#include <cstddef>
#include <optional>
#include <vector>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::select;
using ceramic::leaks::Gate;
using ceramic::leaks::go;

struct Watcher {
  Chan<char> signal_chan;
  Chan<char> release_chan;
  Chan<char> running;   // closed when the watcher's goroutine ends
};

// Transfer.Watch: a goroutine that writes progress until it is released.
void watch(Watcher& w, Chan<int>& progress, Gate* gate) {
  go("watcher", [&w, &progress, gate] {
    if (gate) gate->wait();
    bool done = false;
    for (;;) {
      progress.send(0);  // @leak
      if (done) break;
      select(on_recv(w.signal_chan, [](std::optional<char>) {}),  // @may-leak
             on_recv(w.release_chan, [&](std::optional<char>) { done = true; }));
    }
    w.running.close();
  });
}

// Transfer.Release
void release(Watcher& w) {
  w.release_chan.close();
  (void)w.running.recv();  // @leak
}

void test_transfer(bool fixed, Gate* gave_up) {
  Chan<int> progress_chan;
  Chan<char> progress_done;
  go("consumer", [&] {
    for (int p : progress_chan) {
      (void)p;
      if (!fixed) {   // t.Fatalf: the goroutine ends, and stops draining
        if (gave_up) gave_up->open();
        return;
      }
    }
    progress_done.close();
  });
  std::vector<Watcher> watchers(3);
  for (std::size_t i = 0; i < watchers.size(); ++i) {
    watch(watchers[i], progress_chan, i == 0 ? nullptr : gave_up);
  }
  for (Watcher& w : watchers) release(w);
  progress_chan.close();
  (void)progress_done.recv();
}

void run(bool fixed, Gate* gave_up) {
  go("testTransfer", [fixed, gave_up] { test_transfer(fixed, gave_up); });
}

void bug() { run(false, nullptr); }
void fix() { run(true, nullptr); }
void live_bug() {
  Gate gave_up;
  run(false, &gave_up);
}

const ceramic::leaks::Registration registered{{
    .name = "moby_21233",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .live_bug = live_bug,
    .description = "the progress consumer gives up while watchers still write to it",
    .dfs_iterations = 200,
}};

}  // namespace
