// Isolating a call that may never return (the seed's gethostbyname story): the call runs in a
// child process; the parent waits for its answer with a deadline, and kills the child if the
// deadline passes. A hung child costs a process, never the caller.
#include <ceramic/ceramic.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "example_check.hpp"

using namespace std::chrono_literals;

// [doc:lookup]
// Stands in for a library call that sometimes never returns.
std::string lookup(const std::string& host) {
  if (host == "hangs.example") {
    for (;;) pause();   // never returns, like a resolver stuck on a dead server
  }
  return "192.0.2.1";
}
// [/doc:lookup]

// [doc:resolve]
// The answer, or std::nullopt if the lookup did not answer within the deadline.
std::optional<std::string> resolve(const std::string& host, std::chrono::milliseconds deadline) {
  ceramic::Chan<std::string> answer;
  ceramic::Proc worker("lookup " + host, [&] { answer.send(lookup(host)); });

  std::string addr;
  if (answer.recv_for(addr, deadline) == ceramic::Status::ok) return addr;
  worker.kill(SIGKILL);   // it hangs: end it now rather than after ~Proc's grace period
  return std::nullopt;    // ~Proc reaps it: no zombie, no leaked process
}
// [/doc:resolve]

int main() {
  // [doc:use]
  std::optional<std::string> a = resolve("works.example", 10s);   // "192.0.2.1"
  std::optional<std::string> b = resolve("hangs.example", 200ms); // std::nullopt after 200 ms
  // [/doc:use]
  expect(a && *a == "192.0.2.1", "the lookup that works answers");
  expect(!b, "the lookup that hangs gives up at its deadline");
  std::printf("works.example -> %s\nhangs.example -> no answer\n", a->c_str());
  return 0;
}
