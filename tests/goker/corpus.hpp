// The GoKer regression corpus: real-world blocking bugs from GoBench's GoKer suite
// (Yuan et al., "GoBench: A Benchmark Suite of Real-World Go Concurrency Bugs", CGO 2021,
// github.com/timmyyuan/gobench, goker/blocking/<project>/<id>/), each rewritten from scratch
// as a ceramic program, with its upstream fix beside it.
//
// One file per kernel, tests/goker/<project>_<id>.cpp. Each file says at the top where the
// kernel comes from, the shape of the bug, the upstream fix, and how the port differs from the
// Go original. It defines two bodies, the buggy one and the fixed one, and registers them:
//
//   const ceramic::goker::Registration registered{{
//       .name = "moby_4395",
//       .bug = bug,
//       .fix = fix,
//       .description = "a goroutine sends its result on a channel nobody drains",
//   }};
//
// corpus_test.cpp runs every registered kernel: the buggy body must fail under the
// simulator's default exploration and replay to the same failure; the fixed body must survive
// 1,000 PCT schedules and a bounded DFS.
//
// Bodies follow one rule that the Go originals do not: every Proc a body starts is joined
// before the body returns (a Proc that starts Procs joins them too). GoKer bugs are mostly
// partial deadlocks, a goroutine left blocked while the test returns. Until the simulator
// reports leaks, the join turns that leak into a deadlock it reports.
//
// Thread safety: registration happens during static initialisation; registry() is read
// afterwards, from one thread.
#pragma once

#include <cstddef>
#include <vector>

namespace ceramic::goker {

struct Kernel {
  const char* name = "";          // <project>_<id>, as GoKer names it
  void (*bug)() = nullptr;        // the blocking bug: the simulator must find it
  void (*fix)() = nullptr;        // the upstream fix: the simulator must stay silent
  const char* description = "";   // the bug in one line
  // Empty when today's simulator finds the bug. Otherwise which of issue 10's model changes
  // the bug needs, and why (the interleaving the simulator cannot produce yet):
  //   1 timeouts fire while blocked, not only when idle   2 arrival is a step
  //   3 PCT/random choose among ready select cases          4 fairness, max_processes alive
  //   5 main's exit waits for the explorer
  // The bug half of the kernel's test is then skipped with this text; the fix still runs.
  const char* needs = "";
  // Empty when today's simulator is silent on the fix. Otherwise the model change (same
  // numbering) without which it raises a false alarm on the fix, and why. The fix half of the
  // kernel's test is then skipped with this text; the bug still runs.
  const char* fix_needs = "";
  // Schedules for the fix's bounded DFS (the test reports whether it completed).
  std::size_t dfs_iterations = 1000;
};

// Every registered kernel, in registration order (corpus_test.cpp sorts them by name).
inline std::vector<Kernel>& registry() {
  static std::vector<Kernel> kernels;
  return kernels;
}

// Adds a kernel to the registry; define one per kernel file, at namespace scope.
struct Registration {
  explicit Registration(const Kernel& k) { registry().push_back(k); }
};

}  // namespace ceramic::goker
