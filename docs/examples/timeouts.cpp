// Every blocking operation has a variant with a deadline: send_for and recv_for return a
// Status instead of blocking forever.
#include <ceramic/ceramic.hpp>

#include <chrono>
#include <cstdio>

#include "example_check.hpp"

using namespace std::chrono_literals;

int main() {
  // [doc:timeouts]
  ceramic::Chan<int> chan;
  int v = 0;

  ceramic::Status a = chan.recv_for(v, 50ms);   // nobody sends: Status::timeout after 50 ms
  ceramic::Status b = chan.send_for(7, 0s);     // 0 tries once: Status::timeout at once

  ceramic::Proc sender("sender", [&] { chan.send(42); });
  ceramic::Status c = chan.recv_for(v, 10s);    // Status::ok as soon as the sender arrives; v == 42
  sender.join();

  chan.close();
  ceramic::Status d = chan.recv_for(v, 10s);    // Status::closed at once: no waiting on a closed channel
  ceramic::Status e = chan.send_for(1, 10s);    // Status::closed (send would throw ChannelClosed)
  // [/doc:timeouts]
  using ceramic::Status;
  expect(a == Status::timeout && b == Status::timeout, "no partner: timeouts");
  expect(c == Status::ok && v == 42, "a partner within the deadline: ok");
  expect(d == Status::closed && e == Status::closed, "a closed channel: closed");
  std::printf("%s %s %s %s %s\n", ceramic::to_string(a), ceramic::to_string(b),
              ceramic::to_string(c), ceramic::to_string(d), ceramic::to_string(e));
  return 0;
}
