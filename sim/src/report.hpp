// ceramic::sim — failures as people read them: the detector's report for deadlocks (the same
// text and DOT as ceramic-run), and the paragraph that ends every failing exploration.
#pragma once

#include <string>

#include "ceramic/detector/snapshot.hpp"
#include "ceramic/sim/sim.hpp"
#include "model.hpp"
#include "run.hpp"

namespace ceramic::sim::detail {

// What the explorer concluded about a blocked state, as data (FailureInfo's fields).
struct Judgement {
  std::string summary;                     // one line
  std::optional<detector::Report> graph;   // the detector's report, when it proves it
  std::vector<std::string> blocked;        // otherwise: who waits where
};

// The model's state as the detector's snapshot: tasks as processes, the model's channels with
// their holders (live) and former holders (exited), simulated time as the clock.
detector::Snapshot snapshot_of(const Model&);

// The deadlock in model, reported by the detector.
Judgement deadlock_report(const Model&);

// How the candidates of find_leaks are ended.
enum class LeakEnd {
  program_end,     // ender 0 returned from the body
  proc_destroyed,  // ender destroyed their Proc
  parent_exited,   // ender, their parent (or an ancestor), exited: they end with it
};

// Of candidates, the tasks left blocked forever (leaked) when ender ends them: those waiting
// without a deadline that the detector finds stuck once the ender is gone (all of them when
// nothing can move: quiescent). Empty: no leak. Otherwise *report holds the explanation.
std::vector<int> find_leaks(const Model&, const std::vector<int>& candidates, int ender, LeakEnd how,
                            bool quiescent, Judgement* report);

// The full report of a failing schedule, printed from its data: what happened, the last steps,
// the detector's report if any, the schedule, the replay line and the captured output. An empty replay line
// means the schedule was a replay that the program did not follow.
std::string failure_report(const Outcome&, const std::string& schedule, const std::string& replay,
                           std::size_t iteration);

// "CERAMIC_SIM_REPLAY='cs2:...' /path/to/binary" and the call, for this process.
std::string replay_line(const std::string& schedule);

}  // namespace ceramic::sim::detail
