// ceramic::sim — running schedules: one process tree per schedule, driven through the
// mailboxes (mailbox.hpp) by the model (model.hpp) and a strategy (strategy.hpp).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "ceramic/sim/sim.hpp"
#include "coverage.hpp"
#include "mailbox.hpp"
#include "model.hpp"
#include "schedule.hpp"
#include "strategy.hpp"
#include "tree.hpp"

namespace ceramic::sim::detail {

// How one schedule ended.
struct Outcome {
  FailureInfo info;                // kind none: no failure
  std::vector<Choice> choices;
  std::size_t steps = 0;           // transitions taken (choices or not)
  std::string output;              // the tail of what the tree printed (failures only)
  bool grew = false;               // it added to the coverage (Runner::coverage)
  bool failed() const { return info.kind != Failure::none; }
};

// Owns the shared region, the wake-up eventfd and the output file of a series of schedules.
// Not thread-safe: one per explorer process.
class Runner {
 public:
  explicit Runner(const Options&);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  Outcome run(const std::function<void()>& body, Scheduler&, bool unbuffered);
  // What every schedule run so far reached.
  const CoverageLog& coverage() const { return coverage_; }
  // Draw each schedule's timeline into its Outcome (info.timeline): for the HTML report of a
  // failure, off while exploring (it costs a string per step).
  void record_timeline(bool on) { timeline_ = on; }
  // Whether another schedule of the same body follows this one: if so, its root is forked while
  // this one runs (a standby, waiting to be started), which takes the fork and the new
  // process's first scheduling off the next schedule's path. Off by default (a replay runs one).
  void expect_more(bool more) { more_ = more; }

 private:
  class Execution;
  // Starts a schedule's root: the standby when it was forked for body, else a new one. Its pid,
  // or -1 with errno set.
  pid_t start_root(const std::function<void()>& body);
  pid_t fork_standby(const std::function<void()>& body);
  Options opts_;
  Trees trees_;
  CoverageLog coverage_;
  Layout layout_;
  Header* header_ = nullptr;
  int eventfd_ = -1;
  bool timeline_ = false;
  bool more_ = false;
  const std::function<void()>* standby_body_ = nullptr;  // what the standby will run
};

}  // namespace ceramic::sim::detail
