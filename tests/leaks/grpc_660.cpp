// grpc_660 -- Go's goroutine leak profile test Grpc660 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/grpc660.go; GoKer goker/blocking/grpc/660,
// grpc/grpc-go PR 660, fix ceacfbc).
//
// Shape: the benchmark client's doCloseLoopUnary() starts one call goroutine per iteration,
// which reports on an unbuffered done channel, and selects on done and on the stop channel.
// When stop wins, the loop returns without draining done and that iteration's call goroutine
// blocks on its send forever. Go expects it in "chan send".
//
// Fix (upstream): the call's done channel has a buffer of one, so the call goroutine can always
// finish whether or not the loop still listens.
//
// Adaptations: the goroutines are Procs nobody joins (go()); the loop runs in main (Go runs it
// in a goroutine that returns: a Proc's children end with it). Go's call reports true or false
// at random; the two sends have the same shape, the port sends true.
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_recv;
using ceramic::select;
using ceramic::leaks::go;

void do_close_loop_unary(Chan<bool>& stop, std::size_t capacity) {
  for (;;) {
    Chan<bool> done(ChanOptions{.capacity = capacity});
    go("call", [&] {
      done.send(true);  // @leak
    });
    bool stopped = false;
    select(on_recv(stop, [&](std::optional<bool>) { stopped = true; }),
           on_recv(done, [](std::optional<bool>) {}));
    if (stopped) return;
  }
}

void run(std::size_t capacity) {
  Chan<bool> stop;
  go("stopper", [&] { stop.send(true); });
  do_close_loop_unary(stop, capacity);
}

void bug() { run(0); }
void fix() { run(1); }

const ceramic::leaks::Registration registered{{
    .name = "grpc_660",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "the benchmark loop stops without draining its last call's result",
    .dfs_iterations = 100,   // the loop is unbounded: DFS does not complete
}};

}  // namespace
