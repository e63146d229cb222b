// cockroach_2448 -- Go's goroutine leak profile test Cockroach2448 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/cockroach2448.go; GoKer
// goker/blocking/cockroach/2448, cockroachdb/cockroach PR 2448).
//
// Shape: multiraft's state loop polls its callback channel with a select default, and in the
// default handles a write response by sending an event to the store's loop (a select on the
// events channel and the stopper). The store's loop runs each event's callback, which sends on
// the callback channel (a select with the stopper). When the state loop takes its default while
// the store loop is between receiving the previous event and offering its callback, each waits
// for the other. Nobody ever closes the stopper, in Go's test too: both wait forever. Go
// expects Store.processRaft and state.start in "select".
//
// Fix (as in tests/goker; GoKer's note on the fix: "let event append an event queue instead of
// pending here"): the state loop queues events and offers the oldest one as a case of its own
// select, so it keeps serving callbacks while the store loop is busy.
//
// Adaptations: callbacks (func values in Go) are ints, running one does nothing (Go's sleeps
// 1 ns); the state loop's 100 us sleep after each write response is left out. Both loops are
// Procs nobody joins (go()).
//
// Live (live_bug): the store loop, having received an event, waits at a gate before offering
// its callback; the state loop opens it when it takes its default for the second time, about
// to send the second event.
#include <deque>
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;
using ceramic::leaks::Gate;
using ceramic::leaks::go;

struct MultiRaft {
  Chan<char> stopper;        // Stopper.Done: would be closed to stop; nobody does
  Chan<int> events;
  Chan<int> callback_chan;   // callbacks for the state loop to run
};

void process_raft(MultiRaft& m, Gate* gate) {   // Store.processRaft
  bool stopped = false;
  auto stop = [&](std::optional<char>) { stopped = true; };
  while (!stopped) {
    select(on_recv(m.events,
                   [&](std::optional<int>) {
                     if (gate) gate->wait();
                     // the event's callback: hand a func to the state loop
                     select(on_send(m.callback_chan, 1, [] {}),  // @leak
                            on_recv(m.stopper, stop));
                   }),
           on_recv(m.stopper, stop));
  }
}

void state_start(MultiRaft& m, bool fixed, Gate* gate) {   // state.start
  bool stopped = false;
  auto stop = [&](std::optional<char>) { stopped = true; };
  auto run_callback = [](std::optional<int>) {};
  std::deque<int> queued;   // the fix's event queue
  int defaults = 0;
  while (!stopped) {
    if (!fixed) {
      select(on_recv(m.stopper, stop), on_recv(m.callback_chan, run_callback),
             on_default([&] {
               if (gate && ++defaults == 2) gate->open();
               // handleWriteResponse -> sendEvent
               select(on_send(m.events, 1, [] {}),  // @leak
                      on_recv(m.stopper, stop));
             }));
    } else if (queued.empty()) {
      select(on_recv(m.stopper, stop), on_recv(m.callback_chan, run_callback),
             on_default([&] { queued.push_back(1); }));
    } else {
      select(on_recv(m.stopper, stop), on_recv(m.callback_chan, run_callback),
             on_send(m.events, queued.front(), [&] { queued.pop_front(); }));
    }
  }
}

void run(bool fixed, Gate* gate) {
  MultiRaft m;
  go("processRaft", [&] { process_raft(m, gate); });
  go("state", [&] { state_start(m, fixed, gate); });
}

void bug() { run(false, nullptr); }
void fix() { run(true, nullptr); }
void live_bug() {
  Gate gate;
  run(false, &gate);
}

const ceramic::leaks::Registration registered{{
    .name = "cockroach_2448",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .live_bug = live_bug,
    .description = "a polling loop sends an event to a loop that waits to call it back",
    .fix_needs = "not a simulator defect but a difference of definition: the fixed loops never "
                 "end (Go's test never closes the stopper); once the body has returned the "
                 "simulator runs them 1,000 more steps and then judges every process parked "
                 "without a deadline (processRaft in its select) as leaked, though the other "
                 "loop is alive and could still serve it. ceramic's definition (blocked without "
                 "a deadline when the program ends) makes that a leak; Go's profile reports only "
                 "goroutines that no runnable goroutine can reach",
    .live_fix_needs = "the same difference of definition live: the fixed loops never end, so the "
                      "program never settles, and whether processRaft is caught waiting in its "
                      "select when the program ends (a leak for ceramic-run) is up to timing",
    .dfs_iterations = 200,
}};

}  // namespace
