// Linked into every executable of the coverage build (scripts/coverage.sh), with
// -Wl,--wrap=_exit. A process that ends with _exit() (every Proc child, the simulator's
// workers, ceramic-run's child when exec fails) skips the exit handler that writes gcov's
// counters, so what ran only there would count as never run: this writes them first.
//
// Not in a process of a simulated tree (one where the simulator's controller is installed):
// the simulator kills its trees with SIGKILL whenever a schedule ends early, and a process
// killed while it writes leaves a corrupt .gcda behind, which spoils every later merge; and
// each of the thousands of tree processes writing every counter file costs minutes. So the
// lines that run only under the simulator's controller (sim/src/client.cpp, the core's
// branches to the controller) count as not run: docs/coverage.md says so.
//
// Signals are blocked while the counters are written: a Proc destructor's SIGTERM that finds
// the child already on its way out must not cut a file in half. Processes killed by a signal
// before they reach _exit lose their counts.
#include <signal.h>

namespace ceramic::control {
class Controller;
[[gnu::weak]] Controller* active() noexcept;  // null when libceramic's hooks are not linked in
}  // namespace ceramic::control

extern "C" {
void __gcov_dump();
[[noreturn]] void __real__exit(int status);
[[noreturn]] void __wrap__exit(int status) {
  bool simulated = ceramic::control::active != nullptr && ceramic::control::active() != nullptr;
  if (!simulated) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    __gcov_dump();
  }
  __real__exit(status);
}
}
