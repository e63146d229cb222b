// kubernetes_38669 -- Go's goroutine leak profile test Kubernetes38669 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/kubernetes38669.go; GoKer
// goker/blocking/kubernetes/38669, kubernetes/kubernetes PR 38669).
//
// Shape: a cacheWatcher's goroutine first sends its initial events on the unbuffered result
// channel and only then loops on its input. A watcher stopped before anyone reads the result
// leaves that goroutine blocked on the send forever: Stop() closing the input cannot wake it.
// Go expects cacheWatcher.process in "chan send".
//
// Fix (upstream): the watcher gets a done channel that Stop() closes, and the event send is a
// select between the result channel and done.
//
// Adaptations: the goroutine is a Proc nobody joins (go()); the test runs in main (Go runs it
// in a goroutine that returns: a Proc's children end with it). Go's Stop holds a mutex to close
// the input at most once; ceramic's close() is idempotent and there is one stopper, so the
// mutex (which never blocks here) is left out. Events are ints; the two initial events are
// Go's. The deferred close of the result channel is kept.
#include <optional>
#include <vector>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;
using ceramic::leaks::go;

struct CacheWatcher {
  Chan<int> input;
  Chan<int> result;
  Chan<char> done;   // the fix's

  void send_watch_cache_event(int event, bool fixed) {
    if (!fixed) {
      result.send(event);  // @leak
    } else {
      select(on_send(result, event, [] {}), on_recv(done, [](std::optional<char>) {}));
    }
  }
  void process(const std::vector<int>& init_events, bool fixed) {
    for (int event : init_events) send_watch_cache_event(event, fixed);
    for (int e : input) (void)e;
    result.close();   // defer close(c.result), after defer c.Stop()
  }
  void stop(bool fixed) {
    input.close();
    if (fixed) done.close();
  }
};

void run(bool fixed) {
  CacheWatcher w;
  go("cacheWatcher", [&w, fixed] { w.process({1, 2}, fixed); });
  w.stop(fixed);
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "kubernetes_38669",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a stopped watcher blocks sending its initial events",
}};

}  // namespace
