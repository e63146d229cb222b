// cockroach_1462 -- Go's goroutine leak profile test Cockroach1462 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/cockroach1462.go; GoKer
// goker/blocking/cockroach/1462, cockroachdb/cockroach PR 1462).
//
// Shape: a local transport's worker loops: unless the stopper says stop (a select with a
// default), it sends an event on the unbuffered Events channel, with a plain send. The event
// processor returns when the stopper closes. If the processor takes the stop while the
// transport is past its check and about to send, nobody ever receives the event: the transport
// blocks forever, and Stopper.Stop(), waiting for its workers, blocks forever too. Go expects
// the transport worker in "chan send" and the test goroutine in "sync.WaitGroup.Wait".
//
// Fix (as in tests/goker): the transport's send is a select between Events and the stopper,
// so a stop also releases a worker about to send.
//
// Adaptations: the stopper's WaitGroup of workers is joins: RunWorker keeps each worker's Proc
// in the stopper, and Stop() joins them after closing the stop channel, as Go's stop.Wait().
// The stopper's Quiesce (a mutex and a Cond waiting for running tasks) never waits here, no
// task is ever started, so it is left out with the mutex around the final close of `stopped`:
// the blocking path is channels and joins. The test goroutine is a Proc nobody joins (go());
// events are ints.
//
// Live (live_bug): the transport, in its default branch, opens a gate the test waits on before
// it stops (so the transport has decided to send), then waits at a second gate that the
// processor opens once it has returned on the stop: the event is sent with nobody left to
// receive it.
#include <optional>
#include <vector>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::Proc;
using ceramic::select;
using ceramic::leaks::Gate;
using ceramic::leaks::go;

struct Gates {          // live_bug only
  Gate sending;         // the transport has taken its default branch
  Gate processor_done;  // the processor has returned
};

struct Stopper {
  Chan<char> stopper;        // ShouldStop(): closed by Stop()
  std::vector<Proc> workers; // the WaitGroup: RunWorker adds, Stop waits
  template <class F>
  void run_worker(const char* name, F f) { workers.emplace_back(name, f); }
  void stop() {
    stopper.close();
    for (Proc& w : workers) {
      w.join();  // @leak
    }
  }
};

void transport_loop(Stopper& s, Chan<int>& events, bool fixed, Gates* gates) {
  bool stopped = false;
  auto stop = [&](std::optional<char>) { stopped = true; };
  while (!stopped) {
    select(on_recv(s.stopper, stop), on_default([&] {
             if (gates) {
               gates->sending.open();
               gates->processor_done.wait();
             }
             if (!fixed) {
               events.send(0);  // @leak
             } else {
               select(on_send(events, 0, [] {}), on_recv(s.stopper, stop));
             }
           }));
  }
}

void process_events_until(Chan<int>& events, Stopper& s) {
  bool done = false;
  while (!done) {
    select(on_recv(events, [&](std::optional<int> e) { done = !e.has_value(); }),
           on_recv(s.stopper, [&](std::optional<char>) { done = true; }));
  }
}

void run(bool fixed, Gates* gates) {
  go("test", [fixed, gates] {
    Stopper s;
    Chan<int> events;
    s.run_worker("transport", [&] { transport_loop(s, events, fixed, gates); });
    s.run_worker("processEvents", [&] {
      process_events_until(events, s);
      if (gates) gates->processor_done.open();
    });
    if (gates) gates->sending.wait();
    s.stop();
  });
}

void bug() { run(false, nullptr); }
void fix() { run(true, nullptr); }
void live_bug() {
  Gates gates;
  run(false, &gates);
}

const ceramic::leaks::Registration registered{{
    .name = "cockroach_1462",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .live_bug = live_bug,
    .description = "a stopped event processor leaves the transport blocked in its send",
    .dfs_iterations = 300,   // the loops make the space large
}};

}  // namespace
