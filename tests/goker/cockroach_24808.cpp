// cockroach_24808 -- GoKer goker/blocking/cockroach/24808 (cockroachdb/cockroach PR 24808).
//
// Shape: the compactor's Start() signals its channel (buffer of one) before starting the
// worker that drains it. When the channel already holds a signal, Start() blocks on its send
// and the worker that would drain it is never started.
//
// Fix (as ported): the signal is sent without blocking (a select with a default): a pending
// signal already asks for a compaction, so dropping the second loses nothing.
//
// Adaptations: the stopper's channel is a Chan<char> closed by Stop(); the worker is a Proc
// joined after the test's deferred Stop(). With the bug the test never gets that far: its one
// process blocks on a channel nobody else holds, which the simulator reports as a deadlock.
#include <optional>

#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::Proc;
using ceramic::select;

struct Compactor {
  Chan<char> ch{ChanOptions{.capacity = 1}};

  std::optional<Proc> start(Chan<char>& stopper, bool fixed) {
    if (!fixed) {
      ch.send(1);
    } else {
      select(on_send(ch, 1, [] {}), on_default([] {}));
    }
    return std::optional<Proc>(std::in_place, "compactor", [this, stopper]() mutable {
      bool stopped = false;
      while (!stopped) {
        select(on_recv(stopper, [&](std::optional<char>) { stopped = true; }),
               on_recv(ch, [](std::optional<char>) {}));
      }
    });
  }
};

void run(bool fixed) {
  Chan<char> stopper;
  Compactor compactor;
  compactor.ch.send(1);
  std::optional<Proc> worker = compactor.start(stopper, fixed);
  stopper.close();   // defer stopper.Stop()
  worker->join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "cockroach_24808",
    .bug = bug,
    .fix = fix,
    .description = "Start() signals a full channel before starting the worker that drains it",
}};

}  // namespace
