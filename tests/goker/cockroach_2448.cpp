// cockroach_2448 -- GoKer goker/blocking/cockroach/2448 (cockroachdb/cockroach PR 2448).
//
// Shape: multiraft's state loop polls its callback channel with a select default, and in the
// default handles a write response by sending an event synchronously to the store's loop. The
// store's loop runs each event's callback, which sends on the callback channel. When the state
// loop takes the default while the store loop is between receiving the previous event and
// offering its callback, the state loop blocks sending the next event and the store loop
// blocks offering the callback: each waits for the other forever.
//
// Fix (as ported, GoKer's note on the fix: "let event append an event queue instead of
// pending here"): the state loop queues events and offers the oldest one as a case of its own
// select, so it keeps serving callbacks while the store loop is busy.
//
// Adaptations: GoKer's test starts both loops and returns, leaking them forever (the stopper is
// never closed). The port needs an end: the store loop reports each event it has handled, and
// main closes the stopper after two events, then joins both loops. In the deadlock the
// reports stop, main waits for them, and the simulator reports all three as deadlocked.
// Callbacks (func values in Go) are ints; running one does nothing (GoKer's sleeps 1 ns).
//
// Needs: the state loop must take its default while the store loop has not yet arrived at its
// callback send. Today every process is parked at its next operation before a choice, so the
// callback is always "already there" and the default never runs (model change 2).
#include <deque>

#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::Proc;
using ceramic::select;

struct MultiRaft {
  Chan<char> stopper;        // Stopper.Done, closed to stop
  Chan<int> events;
  Chan<int> callback_chan;   // callbacks for the state loop to run
  Chan<int> handled;         // the port's: the store loop handled an event
};

void process_raft(MultiRaft& m) {   // Store.processRaft (G1)
  bool stopped = false;
  auto stop = [&](std::optional<char>) { stopped = true; };
  while (!stopped) {
    select(on_recv(m.events,
                   [&](std::optional<int>) {
                     // the event's callback: hand a func to the state loop
                     select(on_send(m.callback_chan, 1, [] {}), on_recv(m.stopper, stop));
                     if (!stopped) {
                       select(on_send(m.handled, 1, [] {}), on_recv(m.stopper, stop));
                     }
                   }),
           on_recv(m.stopper, stop));
  }
}

void state_start(MultiRaft& m, bool fixed) {   // state.start (G2)
  bool stopped = false;
  auto stop = [&](std::optional<char>) { stopped = true; };
  auto run_callback = [](std::optional<int>) {};
  std::deque<int> queued;   // the fix's event queue
  while (!stopped) {
    if (!fixed) {
      select(on_recv(m.stopper, stop), on_recv(m.callback_chan, run_callback),
             on_default([&] {
               // handleWriteResponse -> processCommittedEntry -> sendEvent
               select(on_send(m.events, 1, [] {}), on_recv(m.stopper, stop));
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

void run(bool fixed) {
  MultiRaft m;
  Proc g1("processRaft", [&] { process_raft(m); });
  Proc g2("state", [&] { state_start(m, fixed); });
  m.handled.recv();
  m.handled.recv();
  m.stopper.close();
  g1.join();
  g2.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "cockroach_2448",
    .bug = bug,
    .fix = fix,
    .description = "a polling loop sends an event synchronously to a loop that waits to call it back",
}};

}  // namespace
