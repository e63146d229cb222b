// pattern_method_contract_violation -- Go's goroutine leak profile test MethodContractViolation
// (golang/go, src/runtime/testdata/testgoroutineleakprofile/commonpatterns.go; Saioc et al.,
// CGO 2024).
//
// Shape: a worker type whose Start launches a loop selecting on its item channel and its done
// channel, and whose contract says every started worker must be stopped (Stop closes done).
// workerLifecycle starts one, queues items, and returns without calling Stop: the loop waits
// in its select forever. Go expects worker.Start's goroutine reported in "select".
//
// Fix: workerLifecycle honours the contract (defer w.Stop()).
//
// Adaptations: the loop is a Proc nobody joins (go()); items are ints; workerLifecycle runs in
// main (Go's test calls it directly too).
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::select;
using ceramic::leaks::go;

struct Worker {
  Chan<int> ch;
  Chan<char> done;

  void start() {
    go("worker", [this] {
      bool stopped = false;
      while (!stopped) {
        select(on_recv(ch, [](std::optional<int>) {}),  // @leak
               on_recv(done, [&](std::optional<char>) { stopped = true; }));
      }
    });
  }
  void stop() { done.close(); }
  void add_to_queue(int item) { ch.send(item); }
};

void worker_lifecycle(int items, bool fixed) {
  Worker w;
  w.start();
  for (int i = 0; i < items; ++i) w.add_to_queue(i);
  if (fixed) w.stop();
}

void bug() { worker_lifecycle(10, false); }
void fix() { worker_lifecycle(10, true); }

const ceramic::leaks::Registration registered{{
    .name = "pattern_method_contract_violation",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a started worker is never stopped and waits in its select forever",
}};

}  // namespace
