// istio_18454 -- Go's goroutine leak profile test Istio18454 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/istio18454.go; GoKer
// goker/blocking/istio/18454, istio/istio PR 18454).
//
// Shape: galley's publishing strategy runs an event loop over a timer: on a reset request it
// stops the timer and, if Stop() says the timer had already fired, receives the fired value
// from timer.C before resetting it. But the loop's own `case <-s.timer.C` may have taken that
// value already: the receive then waits forever. The processor goroutine that sends the reset
// requests (on a channel with a buffer of one) then blocks on its next one, and the deferred
// cleanup that would stop the event loop never runs. Go expects both goroutines of
// Worker.Start, one in "chan receive" (the event loop) and one in "chan send" (the processor).
//
// Fix (upstream, GoBench's goreal patch): the drain after a failed Stop() does not block: a
// select on timer.C with a default.
//
// Adaptations: contexts are Chan<char>s closed by cancel(). A time.Timer is a Timer below: a
// Proc that waits for its duration (recv_for on a cancel channel) and then puts a value in C (a
// buffer of one) and closes `fired`; Stop() is a select between cancelling it and `fired`, so
// it returns false exactly when the timer has fired, and its value is then in C or already
// taken (Go's semantics). Reset starts a fresh Timer Proc; so does NewTimer, but from the event
// loop, the only reader of the timer, as it starts: a Proc's children end with it, and a clock
// started by the processor would end with the processor, leaving the event loop's Stop() with
// no timer to answer it. The processor is fed 4
// events instead of Go's 1,024 (the fourth is the first reset request that can block). The
// test goroutine's work runs in main, which starts the processor and stops it at once
// (p.Start(); defer p.Stop()); goroutines are Procs nobody joins (go()).
//
// Live (live_bug): the processor waits at a gate before its first reset request until the event
// loop has taken the timer's value (so the loop takes the fired timer first, then the reset),
// and main waits at a gate that the processor opens when it has its fourth event before it
// stops the processor (so the processor does not see the stop first).
#include <chrono>
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;
using ceramic::Status;
using ceramic::leaks::Gate;
using ceramic::leaks::go;

constexpr int kEvents = 4;
constexpr auto kTimerFrequency = 1ns;

struct Gates {         // live_bug only
  Gate timer_taken;    // the event loop has taken the timer's value
  Gate fourth_event;   // the processor has its fourth event
};

// time.Timer. Not thread-safe; start() and stop() are called by the timer's owner.
class Timer {
 public:
  Chan<char> c{ChanOptions{.capacity = 1}};   // timer.C

  void start(std::chrono::nanoseconds d) {    // time.NewTimer, Timer.Reset
    cancel_ = Chan<char>();
    fired_ = Chan<char>();
    go("timer", [this, d] {
      char v = 0;
      if (cancel_.recv_for(v, d) != Status::timeout) return;   // stopped
      c.send(1);
      fired_.close();
    });
  }
  bool stop() {   // true if it stopped the timer before it fired
    bool stopped = false;
    select(on_send(cancel_, char{1}, [&] { stopped = true; }),
           on_recv(fired_, [](std::optional<char>) {}));
    return stopped;
  }

 private:
  Chan<char> cancel_, fired_;
};

struct Worker {
  Chan<char> ctx_done;   // closed by Stop()
  void stop() { ctx_done.close(); }
};

struct Strategy {
  std::optional<Timer> timer;
  Chan<char> reset_chan{ChanOptions{.capacity = 1}};
  Worker worker;
  bool fixed = false;
  Gates* gates = nullptr;

  void on_change() {
    if (timer) {
      reset_chan.send(1);  // @leak
      return;
    }
    start_timer();
  }

  void start_timer() {
    timer.emplace();   // time.NewTimer: its clock starts in the event loop (see above)
    go("eventLoop", [this] { event_loop(); });   // s.worker.Start(nil, eventLoop)
  }

  void event_loop() {
    timer->start(kTimerFrequency);
    for (;;) {
      bool done = false;
      select(on_recv(timer->c,
                     [&](std::optional<char>) {
                       if (gates) gates->timer_taken.open();
                     }),
             on_recv(reset_chan,
                     [&](std::optional<char>) {
                       if (!timer->stop()) {
                         if (!fixed) {
                           (void)timer->c.recv();  // @leak
                         } else {
                           select(on_recv(timer->c, [](std::optional<char>) {}), on_default([] {}));
                         }
                       }
                       timer->start(kTimerFrequency);
                     }),
             on_recv(worker.ctx_done, [&](std::optional<char>) {
               (void)timer->stop();
               done = true;
             }));
      if (done) return;
    }
  }

  void close() { worker.stop(); }
};

struct Processor {
  explicit Processor(Strategy& s) : strategy(s) {}
  Strategy& strategy;
  Worker worker;
  Chan<int> event_ch{ChanOptions{.capacity = kEvents}};

  void start(Gates* gates) {
    for (int i = 0; i < kEvents; ++i) event_ch.send(0);   // setupFn
    go("processor", [this, gates] {                       // runFn
      int events = 0;
      for (;;) {
        bool done = false;
        select(on_recv(worker.ctx_done, [&](std::optional<char>) { done = true; }),
               on_recv(event_ch, [&](std::optional<int>) {
                 ++events;
                 if (gates && events == 2) gates->timer_taken.wait();
                 if (gates && events == kEvents) gates->fourth_event.open();
                 strategy.on_change();   // processEvent
               }));
        if (done) break;
      }
      strategy.close();   // defer p.stateStrategy.Close()
    });
  }
  void stop() { worker.stop(); }
};

void run(bool fixed, Gates* gates) {
  Strategy strategy;
  strategy.fixed = fixed;
  strategy.gates = gates;
  Processor p(strategy);
  p.start(gates);
  if (gates) gates->fourth_event.wait();
  p.stop();   // defer p.Stop()
}

void bug() { run(false, nullptr); }
void fix() { run(true, nullptr); }
void live_bug() {
  Gates gates;
  run(false, &gates);
}

const ceramic::leaks::Registration registered{{
    .name = "istio_18454",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .live_bug = live_bug,
    .description = "a stopped, already drained timer is drained again and the loop blocks",
    .dfs_iterations = 200,
}};

}  // namespace
