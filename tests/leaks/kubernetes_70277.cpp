// kubernetes_70277 -- Go's goroutine leak profile test Kubernetes70277 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/kubernetes70277.go; GoKer
// goker/blocking/kubernetes/70277, kubernetes/kubernetes PR 70277).
//
// Shape: wait.WaitFor() hands its caller's done channel to a poller goroutine and returns as
// soon as the condition holds. The test checks that the done channel handed to the poller is
// closed when WaitFor returns; it is the test's own stop channel, closed only by the test's
// deferred close, so the test blocks on it forever (the poller stops on its own timeout). Go
// expects the test goroutine in "chan receive".
//
// Fix (upstream): WaitFor makes its own done channel, hands that to the wait function and
// closes it when it returns, so the poller stops with WaitFor and the test's check passes.
//
// Adaptations: the poller's ticker (1 ms) is an on_timeout case in its loop, and its 80 ms
// timer is 80 ticks; a tick is offered to WaitFor without blocking (a select with a default),
// as Go's. The condition's 10 ms sleep is left out. The test goroutine and the poller are Procs
// nobody joins (go()).
#include <chrono>
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::on_timeout;
using ceramic::select;
using ceramic::leaks::go;

constexpr int kTicksUntilTimeout = 80;   // poller(time.Millisecond, 80 * time.Millisecond)

// poller(interval, timeout)(done): ticks on ch until done is closed or the timeout passes.
void poller(Chan<char>& done, Chan<char>& ch) {
  go("poller", [&] {
    for (int tick = 0; tick < kTicksUntilTimeout; ++tick) {
      bool stop = false;
      select(on_recv(done, [&](std::optional<char>) { stop = true; }),
             on_timeout(1ms, [&] {
               select(on_send(ch, char{1}, [] {}), on_default([] {}));
             }));
      if (stop) break;
    }
    ch.close();   // defer close(ch)
  });
}

// WaitFor(wait, fn, done) with fn() always true: returns at the first tick.
void wait_for(Chan<char>& done, bool fixed, Chan<char>* handed) {
  Chan<char> own_done;   // the fix's
  Chan<char>& wait_done = fixed ? own_done : done;
  *handed = wait_done;   // the test's wait function records the channel it is handed
  Chan<char> ch;
  poller(wait_done, ch);
  (void)ch.recv();   // a tick (or the poller's close)
  if (fixed) own_done.close();   // defer close(stopCh), the fix's
}

void run(bool fixed) {
  go("test", [fixed] {
    Chan<char> stop_ch;
    Chan<char> done_ch;
    wait_for(stop_ch, fixed, &done_ch);
    (void)done_ch.recv();  // @leak
    stop_ch.close();   // defer close(stopCh)
  });
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "kubernetes_70277",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "WaitFor hands the caller's channel to its poller; the test waits on it forever",
    .dfs_iterations = 200,
}};

}  // namespace
