// grpc_660 -- GoKer goker/blocking/grpc/660 (grpc/grpc-go PR 660, fix ceacfbc).
//
// Shape: the benchmark client's doCloseLoopUnary() starts one call goroutine per iteration,
// which reports on an unbuffered done channel, and selects on done and on the stop channel.
// When stop wins, the loop returns without draining done and that iteration's call goroutine
// blocks on its send forever.
//
// Fix (as ported): the call's done channel has a buffer of one, so the call goroutine can
// always finish whether or not the loop still listens.
//
// Adaptations: goroutines are Procs; the loop joins each iteration's call Proc after its
// select, main joins the loop and the stopper (GoKer's test returns and leaks them). GoKer's
// call sends true or false at random; the port sends true (the value is never looked at).
//
// Fix needs: the loop is correct but unfair schedules (done beats stop every time) spawn
// without end; DFS takes one and reports more than max_processes spawns (model change 4).
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_recv;
using ceramic::Proc;
using ceramic::select;

void do_close_loop_unary(Chan<bool>& stop, std::size_t done_capacity) {
  for (;;) {
    Chan<bool> done(ChanOptions{.capacity = done_capacity});
    Proc call("call", [&] { done.send(true); });
    bool stopped = false;
    select(on_recv(stop, [&](std::optional<bool>) { stopped = true; }),
           on_recv(done, [](std::optional<bool>) {}));
    call.join();
    if (stopped) return;
  }
}

void run(std::size_t done_capacity) {
  Chan<bool> stop;
  Proc g1("doCloseLoopUnary", [&] { do_close_loop_unary(stop, done_capacity); });
  Proc helper("stopper", [&] { stop.send(true); });
  g1.join();
  helper.join();
}

void bug() { run(0); }
void fix() { run(1); }

const ceramic::goker::Registration registered{{
    .name = "grpc_660",
    .bug = bug,
    .fix = fix,
    .description = "a benchmark loop stops without draining its last call's done channel",
    .dfs_iterations = 100,   // a loop spawning a call each round; DFS does not complete
}};

}  // namespace
