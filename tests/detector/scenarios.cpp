// ceramic-test-scenarios: one real multi-process situation per subcommand, for ceramic-run.
//
//   ceramic-test-scenarios NAME        (run_test.cpp runs `ceramic-run -- ceramic-test-scenarios NAME`)
//
// Deadlocks (each blocks forever by construction, whatever the scheduling; ceramic-run must
// report it and exit 3):
//   seed_race         the seed README's race with A meeting B first: main's send has no peer
//   cycle             P and Q each wait to receive from the other; main joins P
//   join_cycle        main joins a child that waits to receive from main
//   knot3             three processes, each selecting on the two channels it shares with the
//                     other two; main joins the first
//   select_dead_ends  main selects on two channels whose only peers have exited
// Healthy programs (block a lot, never deadlock; exit 0 when every check holds, 1 otherwise):
//   pingpong, pipeline, worker_pool, recv_timeouts, slow_answer, pipe_thread,
//   pipe_thread_known, slow_child_start
// Leaks (the program goes on and ends normally, having left a process blocked forever;
// ceramic-run must report it when the program ends and exit 3):
//   leak_local_proc        a local Proc whose child waits in recv on a channel only it holds
//                          goes out of scope
//   leak_main_returns      main returns 50 ms after a worker blocks in send forever (its Proc
//                          is never destroyed: the worker dies with the tree)
//   leak_range_for         a worker ranging over a channel nobody closes (the loop's line)
//   leak_unrelated_holder  a worker's recv whose only other holder is a background process
//                          that inherited the handle by fork and never touches it
// Not leaks (exit 0, no report):
//   kill_blocked_child     a child blocked in recv ended by an explicit Proc::kill (intent)
//   close_then_destroy     workers ranging over a channel released by close, their Procs
//                          destroyed at once (they may still be recorded as blocked)
//   long_running_close     workers serve for a while, are released by close, then joined
//   hang_outside_ceramic   the seed's use: a child blocked in a call that never returns,
//                          abandoned after a deadline (join_for) and ended by its Proc
// Exit statuses: exit7 (exits 7), killed (SIGKILLs itself: 128 + 9).
// A hostile program: shrink_trace stops tracing, truncates its own trace file to nothing
// under the watching ceramic-run, waits two seconds and exits 0.
//
// The lines the tests look for (where a process blocks, where a channel is made) carry a
// `// @line NAME` marker; run_test.cpp reads this file to find their numbers.
//
// Safety net: if the parent (ceramic-run) dies, so does the scenario (PR_SET_PDEATHSIG; its
// Procs follow it the same way), and every scenario gives up after kSafetyNet by SIGALRM, so a
// broken watchdog can never leave processes behind. Deadlocks are found long before that.
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/detector/snapshot.hpp>
#include <ceramic/trace_format.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::Proc;
using ceramic::select;

constexpr unsigned kSafetyNet = 60;  // seconds

void ignore(std::optional<int>) {}

// ---------------------------------------------------------------------------------------------
// Deadlocks

// thread A { write(); }   thread B { read(); }   main { write(); read(); }
// with A and B meeting first: main joins B before it writes, and B exits only after its one
// read, which can only have met A. Then no live process but main holds the channel.
int seed_race() {
  Chan<int> chan;  // @line seed_race.chan
  Proc a("A", [&] { chan.send(1); });  // @line seed_race.a
  Proc b("B", [&] { chan.recv(); });  // @line seed_race.b
  if (b.join() != 0) return 2;
  chan.send(2);  // @line seed_race.block
  chan.recv();
  return 1;
}

// P receives from Q before it sends to Q, and Q does the same: neither ever sends. main lets go
// of both channels, so only P and Q hold them, and joins P.
int cycle() {
  std::optional<Chan<int>> p_to_q = Chan<int>();  // @line cycle.p_to_q
  std::optional<Chan<int>> q_to_p = Chan<int>();  // @line cycle.q_to_p
  Proc p("P", [&] {
    q_to_p->recv();  // @line cycle.p
    p_to_q->send(1);
  });
  Proc q("Q", [&] {
    p_to_q->recv();  // @line cycle.q
    q_to_p->send(1);
  });
  p_to_q.reset();
  q_to_p.reset();
  p.join();  // @line cycle.join
  return 1;
}

// main joins a child that waits for main to send: main would send only after the join.
int join_cycle() {
  Chan<int> go;  // @line join_cycle.chan
  Proc child("child", [&] { go.recv(); });  // @line join_cycle.child
  child.join();  // @line join_cycle.join
  go.send(1);
  return 1;
}

// K1, K2, K3 each select (receive) on the two channels it shares with the other two and holds
// nothing else; nobody ever sends. Every process that could complete a case is itself stuck.
int knot3() {
  std::optional<Chan<int>> c12 = Chan<int>();  // @line knot3.c12
  std::optional<Chan<int>> c13 = Chan<int>();  // @line knot3.c13
  std::optional<Chan<int>> c23 = Chan<int>();  // @line knot3.c23
  auto wait_on = [](Chan<int>& x, Chan<int>& y) {
    select(on_recv(x, ignore), on_recv(y, ignore));  // @line knot3.select
  };
  Proc k1("K1", [&] {
    c23.reset();
    wait_on(*c12, *c13);
  });
  Proc k2("K2", [&] {
    c13.reset();
    wait_on(*c12, *c23);
  });
  Proc k3("K3", [&] {
    c12.reset();
    wait_on(*c13, *c23);
  });
  c12.reset();
  c13.reset();
  c23.reset();
  k1.join();  // @line knot3.join
  return 1;
}

// X and Y each deliver one value and exit; main then selects on both channels again.
int select_dead_ends() {
  Chan<int> c1;  // @line select_dead_ends.c1
  Chan<int> c2;  // @line select_dead_ends.c2
  Proc x("X", [&] { c1.send(1); });  // @line select_dead_ends.x
  Proc y("Y", [&] { c2.send(2); });  // @line select_dead_ends.y
  if (c1.recv() != 1 || c2.recv() != 2) return 2;
  if (x.join() != 0 || y.join() != 0) return 2;
  select(on_recv(c1, ignore), on_recv(c2, ignore));  // @line select_dead_ends.block
  return 1;
}

// ---------------------------------------------------------------------------------------------
// Healthy programs

int pingpong() {
  constexpr int kRounds = 10'000;
  Chan<int> ping, pong;
  Proc peer("pong", [&] {
    for (int v : ping) pong.send(v + 1);
  });
  for (int i = 0; i < kRounds; ++i) {
    ping.send(i);
    if (pong.recv() != i + 1) return 1;
  }
  ping.close();
  return peer.join();
}

// generate -> square -> keep the even ones -> sum, each stage closing its output when its
// input is closed and drained.
int pipeline() {
  constexpr int kCount = 1000;
  Chan<int> numbers, squares, evens;
  Chan<long> total;
  Proc gen("generate", [&] {
    for (int i = 1; i <= kCount; ++i) numbers.send(i);
    numbers.close();
  });
  Proc sq("square", [&] {
    for (int v : numbers) squares.send(v * v);
    squares.close();
  });
  Proc even("even", [&] {
    for (int v : squares) {
      if (v % 2 == 0) evens.send(v);
    }
    evens.close();
  });
  Proc sum("sum", [&] {
    long s = 0;
    for (int v : evens) s += v;
    total.send(s);
  });
  std::optional<long> s = total.recv();
  const long expected = 4L * (kCount / 2) * (kCount / 2 + 1) * (kCount + 1) / 6;
  int codes = gen.join() + sq.join() + even.join() + sum.join();
  return s == expected && codes == 0 ? 0 : 1;
}

// Workers select between a job and the quit channel; main selects between handing out the
// next job and collecting a result, so it never blocks on one while workers block on the other.
int worker_pool() {
  constexpr int kJobs = 2000;
  constexpr int kWorkers = 3;
  Chan<int> jobs, results, quit;
  std::vector<Proc> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back("worker" + std::to_string(w), [&] {
      for (bool done = false; !done;) {
        select(on_recv(jobs, [&](std::optional<int> j) {
                 if (j) results.send(*j * 2);
               }),
               on_recv(quit, [&](std::optional<int>) { done = true; }));
      }
    });
  }
  int sent = 0, received = 0;
  long sum = 0;
  while (received < kJobs) {
    if (sent < kJobs) {
      select(on_send(jobs, sent, [&] { ++sent; }), on_recv(results, [&](std::optional<int> r) {
               sum += *r;
               ++received;
             }));
    } else {
      sum += *results.recv();
      ++received;
    }
  }
  quit.close();
  int codes = 0;
  for (Proc& w : workers) codes += w.join();
  return sum == 2L * kJobs * (kJobs - 1) / 2 && codes == 0 ? 0 : 1;
}

// Waits with deadlines are never deadlocks: main polls with short timeouts, then waits with a
// long one, while the peer sleeps before each answer.
int recv_timeouts() {
  Chan<int> c;
  Proc late("late", [&] {
    std::this_thread::sleep_for(700ms);
    c.send(1);
    std::this_thread::sleep_for(700ms);
    c.send(2);
  });
  int v = 0;
  int timeouts = 0;
  while (c.recv_for(v, 100ms) != ceramic::Status::ok) ++timeouts;
  if (v != 1) return 1;
  if (c.recv_for(v, 60s) != ceramic::Status::ok || v != 2) return 1;
  return late.join();
}

// A wait without a deadline on a process that is busy (asleep) for longer than the watchdog's
// confirmation interval: the sleeper is running, so it may still answer.
int slow_answer() {
  Chan<int> c;
  Proc slow("slow", [&] {
    std::this_thread::sleep_for(1500ms);
    c.send(7);
  });
  if (c.recv() != 7) return 1;  // @line slow_answer.block
  return slow.join();
}

// main's only thread that uses ceramic blocks on a channel that only another thread of the
// same process will serve, and that thread is blocked outside ceramic, in read() on a pipe,
// until a process that does not hold the channel writes to it.
int pipe_thread() {
  int fds[2];
  if (pipe(fds) != 0) return 2;
  Proc writer("writer", [&] {  // forked before the channel exists: it never holds it
    std::this_thread::sleep_for(500ms);
    if (write(fds[1], "x", 1) != 1) std::_Exit(2);
  });
  Chan<int> c;
  std::thread reader([&] {
    char b = 0;
    if (read(fds[0], &b, 1) != 1) b = 0;
    c.send(b);
  });
  std::optional<int> v = c.recv();  // @line pipe_thread.block
  reader.join();
  close(fds[0]);
  close(fds[1]);
  return v == 'x' && writer.join() == 0 ? 0 : 1;
}

// The same, but the reader thread has completed a ceramic operation before it blocks in read()
// (a send on a buffered channel of its own), so the tracer has an entry for it that says
// "running".
int pipe_thread_known() {
  int fds[2];
  if (pipe(fds) != 0) return 2;
  Proc writer("writer", [&] {
    std::this_thread::sleep_for(500ms);
    if (write(fds[1], "x", 1) != 1) std::_Exit(2);
  });
  Chan<int> c;
  std::thread reader([&] {
    Chan<int> own(ceramic::ChanOptions{.capacity = 1});
    own.send(0);
    char b = 0;
    if (read(fds[0], &b, 1) != 1) b = 0;
    c.send(b);
  });
  std::optional<int> v = c.recv();
  reader.join();
  close(fds[0]);
  close(fds[1]);
  return v == 'x' && writer.join() == 0 ? 0 : 1;
}

// A child that takes a while between fork() and its first line of code (here a pthread_atfork
// child handler sleeps, as a library re-initialising itself in a child might). It holds the
// parent's channels from the moment of the fork, so the parent's wait on it is no deadlock.
void slow_atfork_child() { std::this_thread::sleep_for(500ms); }

int slow_child_start() {
  pthread_atfork(nullptr, nullptr, slow_atfork_child);
  Chan<int> c;
  Proc child("child", [&] { c.send(1); });
  if (c.recv() != 1) return 1;  // @line slow_child_start.block
  return child.join();
}

// ---------------------------------------------------------------------------------------------
// Leaks

// Waits (bounded) until the trace records a thread of pid blocked in a ceramic operation: the
// scenario then knows the leak is in place without guessing with a sleep. min_ops: operations
// the thread must have completed first (a peer's send returns before the receiver records it).
bool wait_until_blocked(pid_t pid, std::uint64_t min_ops = 0) {
  const char* path = std::getenv(ceramic::trace::kEnvVar);
  if (!path) return false;
  auto trace = ceramic::detector::TraceFile::map(path);
  for (int i = 0; i < 10000; ++i) {  // 10 s at most
    for (const auto& t : trace.snapshot(false).threads) {
      if (t.pid == pid && t.blocked() && t.ops >= min_ops) return true;
    }
    std::this_thread::sleep_for(1ms);
  }
  std::fprintf(stderr, "scenario: pid %d never blocked\n", pid);
  return false;
}

int leak_local_proc() {
  {
    Proc worker("worker", [] {
      Chan<int> only_mine;  // @line leak_local_proc.chan
      ignore(only_mine.recv());  // @line leak_local_proc.block
    });
    if (!wait_until_blocked(worker.pid())) return 1;
  }  // the worker is ended here, blocked forever
  std::this_thread::sleep_for(50ms);  // the program goes on
  return 0;
}

int leak_main_returns() {
  static Chan<int> results;  // @line leak_main_returns.chan
  // Never destroyed, as a Go goroutine is never joined: the worker dies with the tree. (Held by a
  // static so that LeakSanitizer sees it reachable: the memory is not what this scenario leaks.)
  static Proc* worker = nullptr;
  worker = new Proc("worker", [] {
    results.send(42);  // @line leak_main_returns.block
  });
  if (!wait_until_blocked(worker->pid())) return 1;
  std::this_thread::sleep_for(50ms);
  return 0;
}

int leak_unrelated_holder() {
  Chan<int> c;  // @line leak_unrelated_holder.chan
  int fds[2];
  if (pipe(fds) != 0) return 1;
  // Inherits c by fork and never touches it: it waits on a pipe nobody writes.
  Proc background("background", [&] {
    char b;
    ignore(read(fds[0], &b, 1) == 1 ? std::optional<int>(0) : std::nullopt);
  });
  Proc worker("worker", [&] {
    ignore(c.recv());  // @line leak_unrelated_holder.block
  });
  {
    Chan<int> drop = std::move(c);  // main lets go of c: only the worker and background hold it
  }
  if (!wait_until_blocked(worker.pid())) return 1;
  std::this_thread::sleep_for(50ms);
  return 0;
}

int leak_range_for() {
  Chan<int> jobs;  // @line leak_range_for.chan
  {
    Proc worker("worker", [&] {
      for (int v : jobs) ignore(v);  // @line leak_range_for.block
    });
    jobs.send(1);
    if (!wait_until_blocked(worker.pid(), 1)) return 1;
  }  // no close: the worker waits for a next job forever
  return 0;
}

int kill_blocked_child() {
  Proc child("child", [] {
    Chan<int> only_mine;
    ignore(only_mine.recv());
  });
  if (!wait_until_blocked(child.pid())) return 1;
  child.kill(SIGKILL);
  return child.join() == 128 + SIGKILL ? 0 : 1;
}

int close_then_destroy() {
  Chan<int> jobs;
  {
    Proc w1("w1", [&] { for (int v : jobs) ignore(v); });
    Proc w2("w2", [&] { for (int v : jobs) ignore(v); });
    for (int i = 0; i < 100; ++i) jobs.send(i);
    if (!wait_until_blocked(w1.pid()) || !wait_until_blocked(w2.pid())) return 1;
    jobs.close();
  }  // destroyed at once: each may be killed before it records that close woke it
  return 0;
}

int long_running_close() {
  Chan<int> jobs, done;
  std::vector<Proc> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back("worker", [&] {
      int n = 0;
      for (int v : jobs) n += v >= 0;
      done.send(n);
    });
  }
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 50; ++i) jobs.send(i);
    std::this_thread::sleep_for(10ms);  // workers sit blocked in recv between rounds
  }
  jobs.close();
  int total = 0;
  for (int w = 0; w < 3; ++w) total += done.recv().value_or(0);
  for (auto& p : workers) {
    if (p.join() != 0) return 1;
  }
  return total == 1000 ? 0 : 1;
}

int hang_outside_ceramic() {
  Chan<int> answer;
  Proc lookup("lookup", [&] {
    pause();  // a call that never returns, outside ceramic
    answer.send(1);
  });
  int v = 0;
  if (answer.recv_for(v, 100ms) != ceramic::Status::timeout) return 1;
  if (lookup.join_for(50ms)) return 1;
  return 0;  // lookup's Proc ends it here
}

// ---------------------------------------------------------------------------------------------
// Exit statuses

int exit7() {
  Chan<int> c;
  Proc p("p", [&] { c.send(1); });
  c.recv();
  p.join();
  return 7;
}

int killed() {
  Chan<int> c;
  Proc p("p", [&] { c.send(1); });
  c.recv();
  p.join();
  kill(getpid(), SIGKILL);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// A program that truncates its own trace

int shrink_trace() {
  const char* path = std::getenv(ceramic::trace::kEnvVar);
  if (path == nullptr) return 1;
  ceramic::trace::stop();  // this process writes to its mapping no more
  if (truncate(path, 0) != 0) return 1;
  std::this_thread::sleep_for(2s);  // ceramic-run looks at it every --interval meanwhile
  return 0;
}

const std::map<std::string_view, int (*)()> kScenarios = {
    {"seed_race", seed_race},     {"cycle", cycle},
    {"join_cycle", join_cycle},   {"knot3", knot3},
    {"select_dead_ends", select_dead_ends},
    {"pingpong", pingpong},       {"pipeline", pipeline},
    {"worker_pool", worker_pool}, {"recv_timeouts", recv_timeouts},
    {"slow_answer", slow_answer}, {"pipe_thread", pipe_thread},
    {"pipe_thread_known", pipe_thread_known}, {"slow_child_start", slow_child_start},
    {"exit7", exit7},             {"killed", killed},
    {"leak_local_proc", leak_local_proc}, {"leak_main_returns", leak_main_returns},
    {"leak_unrelated_holder", leak_unrelated_holder}, {"leak_range_for", leak_range_for},
    {"kill_blocked_child", kill_blocked_child}, {"close_then_destroy", close_then_destroy},
    {"long_running_close", long_running_close}, {"hang_outside_ceramic", hang_outside_ceramic},
    {"shrink_trace", shrink_trace},
};

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  alarm(kSafetyNet);
  auto it = argc == 2 ? kScenarios.find(argv[1]) : kScenarios.end();
  if (it == kScenarios.end()) {
    std::fprintf(stderr, "usage: %s SCENARIO\nscenarios:", argv[0]);
    for (const auto& [name, _] : kScenarios) std::fprintf(stderr, " %s", std::string(name).c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  return it->second();
}
