// moby_21233 -- GoKer goker/blocking/moby/21233 (moby/moby PR 21233, fix 2f4aa96).
//
// Shape: a transfer test consumes progress updates from an unbuffered channel in a goroutine
// that gives up (t.Fatalf, which ends that goroutine) on an unexpected update. The watchers
// keep writing progress to the channel nobody reads any more, so Release(), which waits for
// its watcher to finish, blocks forever, and so does the test.
//
// Upstream fix: the consumer no longer returns early; it records the problem and keeps
// draining until the channel is closed.
//
// Adaptations: GoKer decides at random whether a watcher writes progress and whether the
// consumer gives up; the port always writes and gives up after the first update (ceramic
// schedules must be deterministic; the random choices only decide whether the bug shows).
// The transfer's mutex is locked and unlocked with nothing in between and never blocks, so it
// is dropped. Watchers are Procs; main joins them and the consumer at the end (GoKer's test
// returns and leaks them). Three transfers, as in GoKer.
#include <vector>

#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::Proc;
using ceramic::select;

struct Watcher {
  Chan<char> signal;
  Chan<char> release;
  Chan<char> running;   // closed when the watcher goroutine returns
};

void watch(Watcher& w, Chan<int>& progress) {
  bool done = false;
  for (;;) {
    progress.send(0);   // WriteProgress(lastProgress)
    if (done) break;
    select(on_recv(w.signal, [](std::optional<char>) {}),
           on_recv(w.release, [&](std::optional<char>) { done = true; }));
  }
  w.running.close();
}

void transfer_test(bool fixed) {
  Chan<int> progress;
  Chan<char> progress_done;
  Proc consumer("consumer", [&] {
    for (int p : progress) {
      (void)p;
      if (!fixed) return;   // t.Fatalf on an unexpected update
    }
    progress_done.close();
  });
  std::vector<Watcher> watchers(3);
  std::vector<Proc> goroutines;
  for (Watcher& w : watchers) {
    goroutines.emplace_back("watcher", [&w, &progress] { watch(w, progress); });
  }
  for (Watcher& w : watchers) {   // xrefs[i].Release(watchers[i])
    w.release.close();
    w.running.recv();
  }
  progress.close();
  progress_done.recv();
  for (Proc& g : goroutines) g.join();
  consumer.join();
}

void bug() { transfer_test(false); }
void fix() { transfer_test(true); }

const ceramic::goker::Registration registered{{
    .name = "moby_21233",
    .bug = bug,
    .fix = fix,
    .description = "a progress consumer gives up while watchers still write to it",
    .dfs_iterations = 500,
}};

}  // namespace
