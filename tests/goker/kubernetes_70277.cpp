// kubernetes_70277 -- GoKer goker/blocking/kubernetes/70277 (kubernetes/kubernetes PR 70277).
//
// Shape: wait.WaitFor() hands its caller's done channel to a poller goroutine and returns as
// soon as the condition holds, leaving the poller running until the caller closes that
// channel. The test checks that the done channel handed to the poller is closed when WaitFor
// returns; it is the test's own stop channel, closed only at the end of the test, so the test
// blocks forever while the poller keeps ticking.
//
// Upstream fix: WaitFor makes its own done channel, hands that to the wait function and closes
// it when it returns, so the poller stops with WaitFor.
//
// Adaptations: the poller's ticker is an on_timeout case (1 ms) in its loop; GoKer's second
// timer (ForeverTestTimeout, 20 s, 20,000 ticks) is left out, since the test blocks on a
// channel nobody closes whether or not the poller has stopped. The poller is a Proc that main
// joins after the test's deferred close. The test never ends while the poller ticks, so the
// simulator reports the hang as a runaway (no end within max_steps transitions).
#include <optional>

#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::on_timeout;
using ceramic::Proc;
using ceramic::select;

// poller(): starts the ticking goroutine (owned by *poller) and returns its channel.
Chan<char> poll(Chan<char> done, std::optional<Proc>& poller) {
  Chan<char> ch;
  poller.emplace("poller", [ch, done]() mutable {
    bool stopped = false;
    while (!stopped) {
      select(on_timeout(1ms, [&] { select(on_send(ch, 1, [] {}), on_default([] {})); }),
             on_recv(done, [&](std::optional<char>) { stopped = true; }));
    }
    ch.close();
  });
  return ch;
}

// WaitFor with a condition that holds at once. Returns the done channel it gave the poller.
Chan<char> wait_for(Chan<char> stop, std::optional<Proc>& poller, bool fixed) {
  Chan<char> own_done;
  Chan<char> done = fixed ? own_done : stop;
  Chan<char> c = poll(done, poller);
  c.recv();   // the first tick; the condition is true
  if (fixed) own_done.close();
  return done;
}

void run(bool fixed) {
  Chan<char> stop;
  std::optional<Proc> poller;
  Chan<char> done = wait_for(stop, poller, fixed);
  done.recv();    // the test: the poller's done channel is closed once WaitFor returned
  stop.close();   // defer close(stopCh)
  poller->join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "kubernetes_70277",
    .bug = bug,
    .fix = fix,
    .description = "WaitFor returns while its poller still waits for the caller's channel",
    .dfs_iterations = 200,   // a ticking poller; DFS does not complete
}};

}  // namespace
