// kubernetes_38669 -- GoKer goker/blocking/kubernetes/38669 (kubernetes/kubernetes PR 38669).
//
// Shape: a cacheWatcher's goroutine first sends its initial events on the unbuffered result
// channel and only then loops on its input. A watcher stopped before anyone reads the result
// leaves that goroutine blocked on the send forever, stop() closing the input cannot wake it.
//
// Upstream fix: the watcher gets a done channel that stop() closes, and the event send is a
// select between the result channel and done.
//
// Adaptations: the goroutine is a Proc joined by the test (GoKer's test returns and leaks it).
// GoKer's stop() holds a mutex to close the input at most once; ceramic's close() is
// idempotent and there is one stopper, so the mutex (which never blocks here) is dropped.
// Events are ints; the two initial events are GoKer's.
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::Proc;
using ceramic::select;

struct CacheWatcher {
  Chan<int> input;
  Chan<int> result;
  Chan<char> done;   // the fix's: closed by stop()
  bool fixed = false;

  void send_event(int event) {
    if (!fixed) {
      result.send(event);
      return;
    }
    select(on_send(result, event, [] {}), on_recv(done, [](std::optional<char>) {}));
  }
  void process(const std::vector<int>& init_events) {
    for (int e : init_events) send_event(e);
    for (int e : input) (void)e;   // until the input is closed
    stop();
    result.close();
  }
  void stop() {
    if (fixed) done.close();
    input.close();
  }
};

void run(bool fixed) {
  CacheWatcher w;
  w.fixed = fixed;
  std::vector<int> init_events{1, 2};
  Proc g("process", [&] { w.process(init_events); });   // newCacheWatcher: go process()
  w.stop();
  g.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "kubernetes_38669",
    .bug = bug,
    .fix = fix,
    .description = "a stopped watcher's goroutine blocks sending its initial events",
}};

}  // namespace
