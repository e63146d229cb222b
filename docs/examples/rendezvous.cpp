// An unbuffered channel is a meeting point: a send completes only when a receiver takes the
// value, so nothing is ever queued.
#include <ceramic/ceramic.hpp>

#include <chrono>
#include <cstdio>

#include "example_check.hpp"

using namespace std::chrono_literals;

int main() {
  // [doc:rendezvous]
  ceramic::Chan<int> chan;  // unbuffered, like make(chan int)

  // Nobody receives yet: a send that tries once (timeout 0) finds no partner and gives up.
  ceramic::Status tried = chan.send_for(1, 0s);  // Status::timeout, nothing was queued

  ceramic::Proc receiver("receiver", [&] {
    int v = *chan.recv();  // blocks until main sends
    std::printf("receiver got %d\n", v);
  });
  chan.send(2);            // returns once the receiver holds the value
  int code = receiver.join();
  // [/doc:rendezvous]
  expect(tried == ceramic::Status::timeout, "a try-once send without a receiver times out");
  expect(code == 0, "the receiver exited with 0");
  return 0;
}
