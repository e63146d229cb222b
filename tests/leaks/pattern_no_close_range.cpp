// pattern_no_close_range -- Go's goroutine leak profile test NoCloseRange (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/commonpatterns.go; the pattern is from Saioc et
// al., "Unveiling and Vanquishing Goroutine Leaks in Enterprise Microservices", CGO 2024).
//
// Shape: noCloseRange(items, workers) starts workers that range over an unbuffered channel,
// sends each item on it, and returns without closing it. The workers wait for a next item
// forever; with no workers at all, the function itself blocks forever on its first send. Go's
// test runs both, and expects noCloseRange in "chan send" and its workers in "chan receive".
//
// Fix (the pattern's): the channel is closed once every item is sent, which ends the workers'
// ranges, and has room for every item, so that sending needs no worker.
//
// Adaptations: the items are ints. Go runs both calls in goroutines; the one without workers
// blocks, so it stays a goroutine (a Proc nobody joins, go()); the one with three workers
// returns, and runs in main: a Proc's children end with it, so run from a goroutine that
// returns its workers would not outlive it, as Go's do (main goes on instead).
#include <cstddef>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::leaks::go;

void no_close_range(int items, int workers, bool fixed) {
  Chan<int> ch(ChanOptions{.capacity = fixed ? static_cast<std::size_t>(items) : 0});
  for (int w = 0; w < workers; ++w) {
    go("worker", [&] {
      for (int item : ch) {  // @leak
        (void)item;   // process the item
      }
    });
  }
  for (int item = 1; item <= items; ++item) {
    ch.send(item);  // @leak
  }
  if (fixed) ch.close();
}

void run(bool fixed) {
  go("noCloseRange", [fixed] { no_close_range(3, 0, fixed); });
  no_close_range(3, 3, fixed);
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "pattern_no_close_range",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "workers range over a channel nobody closes; without workers the sender blocks",
    .dfs_iterations = 300,   // four processes on one channel: DFS does not complete
}};

}  // namespace
