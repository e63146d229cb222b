// A buffered channel queues up to `capacity` values; a send blocks only when the buffer is full.
#include <ceramic/ceramic.hpp>

#include <chrono>
#include <cstdio>

#include "example_check.hpp"

using namespace std::chrono_literals;

int main() {
  // [doc:buffered]
  ceramic::Chan<int> jobs(ceramic::ChanOptions{.capacity = 2});  // make(chan int, 2)

  jobs.send(1);                                   // queued: no receiver needed
  jobs.send(2);                                   // queued: the buffer is now full
  ceramic::Status third = jobs.send_for(3, 0s);   // Status::timeout: full, and nobody receives

  jobs.close();                                   // the queued values stay receivable
  int first = *jobs.recv();                       // 1: oldest first
  int second = *jobs.recv();                      // 2
  bool drained = !jobs.recv().has_value();        // closed and empty: std::nullopt
  // [/doc:buffered]
  expect(third == ceramic::Status::timeout, "a send on a full buffer with no receiver times out");
  expect(first == 1 && second == 2, "values come out in the order they went in");
  expect(drained, "a closed, drained channel receives std::nullopt");
  std::printf("received %d then %d, then closed\n", first, second);
  return 0;
}
