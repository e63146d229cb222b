// The leak corpus: the channel-only goroutine leaks that Go's goroutine leak profile is tested
// on (golang/go, src/runtime/testdata/testgoroutineleakprofile/: simple.go, commonpatterns.go
// and the GoKer kernels of goker/), each rewritten from scratch as a ceramic program, with its
// fix beside it. tests/leaks/README.md lists them, and the ones left out and why.
//
// One file per kernel, tests/leaks/<name>.cpp. Its header says where the kernel comes from,
// the shape of the leak, the fix, how the port departs from the Go original, and what the live
// program forces (see `live_bug`). It defines the bodies and registers them:
//
//   const ceramic::leaks::Registration registered{{
//       .name = "pattern_early_return",
//       .source = __FILE__,
//       .bug = bug,
//       .fix = fix,
//       .description = "an early return leaves the result sender blocked",
//   }};
//
// Unlike tests/goker (whose ports join every Proc, turning the leak into a deadlock), the
// bodies here are faithful to Go: the leaking function returns without joining its workers and
// the program goes on, so the failure is a leak, a worker left blocked forever while the
// program ends normally. Workers that Go never joins are started with go() below.
//
// Each blocking operation where the kernel leaks carries a `// @leak` comment at the end of its
// line: ceramic-run's report of the live leak must name exactly those lines, the simulator's a
// subset of them. An operation where the kernel leaks only in interleavings the live program
// does not force carries `// @may-leak`: the simulator may name it too.
//
// Thread safety: registration happens during static initialisation; registry() is read
// afterwards, from one thread.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <ceramic/ceramic.hpp>

namespace ceramic::leaks {

// What the Go leak test expects of the buggy program, and so what the simulator must report.
enum class Expect {
  leak,       // workers are left blocked forever while main returns (Failure::leak)
  deadlock,   // main blocks forever too (Go's test then exits from another goroutine):
              //   every process is blocked, Failure::deadlock
};

struct Kernel {
  const char* name = "";          // simple_*, pattern_* (Go's micro tests and common
                                  //   patterns), or <project>_<id> (GoKer)
  const char* source = "";        // __FILE__: where the `// @leak` lines are
  void (*bug)() = nullptr;        // the leak: the simulator must find it
  void (*fix)() = nullptr;        // the fix: the simulator must stay silent
  // The bodies run live under ceramic-run (tests/leaks/programs.cpp). nullptr: bug and fix
  // themselves. A kernel whose leak needs a particular interleaving gives a live_bug that is
  // the same body with extra synchronisation forcing it (its header says which), so that the
  // live verdict never depends on timing.
  void (*live_bug)() = nullptr;
  void (*live_fix)() = nullptr;
  const char* description = "";   // the leak in one line
  Expect expect = Expect::leak;
  // Empty when the tool gets the half right. Otherwise the precise reason it does not (a
  // defect of the simulator or of ceramic-run, with a minimal reproducer in README.md); that
  // half of the kernel's test is then skipped with this text and the others still run.
  const char* needs = "";         // the simulator misses the bug
  const char* fix_needs = "";     // the simulator raises a false alarm on the fix
  const char* live_needs = "";    // ceramic-run misses the bug
  const char* live_fix_needs = "";  // ceramic-run raises a false alarm on the fix
  // Schedules for the fix's bounded DFS (the test reports whether it completed).
  std::size_t dfs_iterations = 1000;
};

// Every registered kernel, in registration order.
inline std::vector<Kernel>& registry() {
  static std::vector<Kernel> kernels;
  return kernels;
}

// Adds a kernel to the registry; define one per kernel file, at namespace scope.
struct Registration {
  explicit Registration(const Kernel& k) { registry().push_back(k); }
};

// Go's `go f()`: starts body in a child process that nobody ever joins or destroys. It ends
// with the program (a child never outlives its parent), as a goroutine does; if it is still
// blocked forever then, it has leaked. The Proc object is deliberately never freed: destroying
// it would end the child, which is a decision Go's code never makes.
template <class F>
void go(std::string name, F&& body, Site site = Site::current()) {
  (void)new Proc(std::move(name), std::forward<F>(body), site);
}

// A one-shot gate for the live programs: wait() blocks until open() (a close, so it opens for
// every waiter at once). A live_bug uses gates to force the interleaving its leak needs; the
// simulator's bodies never touch one (the simulator finds that interleaving by itself).
class Gate {
 public:
  void open() { c_.close(); }
  void wait() { (void)c_.recv(); }

 private:
  Chan<char> c_;
};

}  // namespace ceramic::leaks
