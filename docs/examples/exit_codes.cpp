// What Proc::join returns: the child's exit code, 1 for an uncaught exception, 128 + the signal
// that killed it. join_for gives up after a deadline.
#include <ceramic/ceramic.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include "example_check.hpp"

using namespace std::chrono_literals;

int main() {
  // [doc:codes]
  ceramic::Proc returns("returns", [] {});                                  // body returns
  ceramic::Proc exits("exits", [] { std::exit(7); });                       // exit code 7
  ceramic::Proc throws("throws", [] { throw std::runtime_error("boom"); }); // uncaught
  ceramic::Proc hangs("hangs", [] { for (;;) pause(); });

  int r = returns.join();                              // 0
  int e = exits.join();                                // 7
  int t = throws.join();                               // 1, and stderr says:
  // ceramic: throws (pid N): uncaught exception: boom
  std::optional<int> still = hangs.join_for(100ms);    // std::nullopt: still running
  hangs.kill(SIGKILL);
  int k = hangs.join();                                // 128 + 9 = 137
  // [/doc:codes]
  expect(r == 0 && e == 7 && t == 1, "exit codes");
  expect(!still.has_value(), "join_for gives up on a running child");
  expect(k == 128 + SIGKILL, "a killed child's code is 128 + signal");
  std::printf("returns %d, exits %d, throws %d, killed %d\n", r, e, t, k);
  return 0;
}
