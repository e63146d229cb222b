// Isolating a call that may never return (the seed's gethostbyname story): run it in a child,
// wait for its answer with a deadline, and let the Proc's destructor kill it if it hangs.
#include <ceramic/ceramic.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

// Stands in for a library call that sometimes never returns.
static std::string lookup(const std::string& host) {
  if (host == "hangs.example") {
    for (;;) pause();
  }
  return "192.0.2.1";
}

static void resolve(const std::string& host) {
  ceramic::Chan<std::string> answer;
  ceramic::Proc worker("lookup " + host, [&] { answer.send(lookup(host)); });

  std::string addr;
  switch (answer.recv_for(addr, 500ms)) {
    case ceramic::Status::ok:
      std::printf("%s -> %s\n", host.c_str(), addr.c_str());
      break;
    case ceramic::Status::timeout:
      std::printf("%s -> no answer within 500 ms; the worker (pid %d) is killed\n", host.c_str(),
                  worker.pid());
      break;
    default:
      std::printf("%s -> worker failed\n", host.c_str());
  }
}  // ~Proc: SIGTERM, grace, SIGKILL, reaped

int main() {
  resolve("works.example");
  resolve("hangs.example");
  return 0;
}
