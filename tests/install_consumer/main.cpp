// Sends one value between two Procs through an installed ceramic.
#include <ceramic/ceramic.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

int main() {
  using namespace std::chrono_literals;
  ceramic::Chan<std::string> c;
  ceramic::Proc sender("sender", [&] { c.send("hello from an installed ceramic"); });
  ceramic::Proc receiver("receiver", [&] {
    std::string v;
    if (c.recv_for(v, 30s) != ceramic::Status::ok || v != "hello from an installed ceramic") {
      std::_Exit(2);
    }
  });
  const int received = receiver.join();
  const std::optional<int> sent_code = sender.join_for(30s);  // else ~Proc kills it
  const int sent = sent_code.value_or(-1);
  std::printf("sender exited %d, receiver exited %d\n", sent, received);
  return sent == 0 && received == 0 ? 0 : 1;
}
