// cockroach_1462 -- GoKer goker/blocking/cockroach/1462 (cockroachdb/cockroach PR 1462).
//
// Shape: a local transport's worker loops: unless the stopper says stop, it sends an event on
// the unbuffered Events channel, with a plain blocking send. The event processor returns when
// the stopper closes. If the processor takes the stop while the transport is already blocked
// in its send, nobody ever receives it, and Stopper.Stop(), waiting for its workers, blocks
// forever.
//
// Fix (as ported): the transport's send is a select between Events and the stopper's channel,
// so a stop also releases a worker blocked sending.
//
// Adaptations: workers are Procs; the stopper's WaitGroup of workers is joins, done in Stop()
// after closing the stop channel, as Go's stop.Wait(). The stopper's Quiesce (a mutex and a
// Cond waiting for running tasks) never waits here, no task is ever started, so it is dropped
// and this is a channel and join kernel. Events are ints.
//
// Needs: the processor must take the closed stop channel while the transport is ready to send
// an event, two ready cases of one select. PCT ranks the rendezvous with the transport above
// the closed channel every time (model change 3); DFS finds it.
#include <optional>

#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::Proc;
using ceramic::select;

void transport_loop(Chan<char>& stopper, Chan<int>& events, bool fixed) {
  bool stopped = false;
  auto stop = [&](std::optional<char>) { stopped = true; };
  while (!stopped) {
    select(on_recv(stopper, stop), on_default([&] {
             if (!fixed) {
               events.send(0);
             } else {
               select(on_send(events, 0, [] {}), on_recv(stopper, stop));
             }
           }));
  }
}

void process_events_until(Chan<int>& events, Chan<char>& stopper) {
  bool done = false;
  while (!done) {
    select(on_recv(events, [&](std::optional<int> e) { done = !e.has_value(); }),
           on_recv(stopper, [&](std::optional<char>) { done = true; }));
  }
}

void run(bool fixed) {
  Chan<char> stopper;
  Chan<int> events;
  Proc transport("transport", [&] { transport_loop(stopper, events, fixed); });
  Proc processor("processEvents", [&] { process_events_until(events, stopper); });
  stopper.close();      // stopper.Stop(): close(s.stopper)
  transport.join();     // s.stop.Wait()
  processor.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "cockroach_1462",
    .bug = bug,
    .fix = fix,
    .description = "a stopped event processor leaves the transport blocked in its send",
    .dfs_iterations = 300,   // the loops make the space large; DFS does not complete
}};

}  // namespace
