// Timeouts in a select: give up on an isolated call, and take the first of two answers.
#include <ceramic/ceramic.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "example_check.hpp"

using namespace std::chrono_literals;

int main() {
  {
    std::string addr;
    // [doc:giveup]
    ceramic::Chan<std::string> answer;
    ceramic::Proc worker("lookup", [&] {
      for (;;) pause();   // a call that never returns: answer.send() is never reached
    });
    ceramic::select(ceramic::on_recv(answer, [&](std::optional<std::string> a) { addr = *a; }),
                    ceramic::on_timeout(200ms, [&] { worker.kill(SIGKILL); }));
    // [/doc:giveup]
    expect(addr.empty(), "no answer: the timeout case ran");
    expect(worker.join() == 128 + SIGKILL, "the worker was killed");
  }
  {
    // [doc:first]
    // Ask two replicas, take the first answer; give up after 10 s.
    ceramic::Chan<std::string> from_a, from_b;
    ceramic::Proc a("replica a", [&] { for (;;) pause(); });   // this one hangs
    ceramic::Proc b("replica b", [&] { from_b.send("192.0.2.7"); });
    std::string addr = "none";
    ceramic::select(ceramic::on_recv(from_a, [&](std::optional<std::string> v) { addr = *v; }),
                    ceramic::on_recv(from_b, [&](std::optional<std::string> v) { addr = *v; }),
                    ceramic::on_timeout(10s, [] {}));
    // addr == "192.0.2.7"; ~Proc ends replica a (SIGTERM, then SIGKILL after the grace period)
    // [/doc:first]
    expect(addr == "192.0.2.7", "the replica that answers wins");
    std::printf("first answer: %s\n", addr.c_str());
  }
  return 0;
}
