// Fan-in: one loop receives from two producers, whichever is ready, until both say they are done.
#include <ceramic/ceramic.hpp>

#include <cstdio>
#include <optional>

#include "example_check.hpp"

int main() {
  // [doc:fanin]
  ceramic::Chan<int> left, right, done;
  ceramic::Proc l("left", [&] {
    for (int i = 1; i <= 3; ++i) left.send(i);
    done.send(0);   // after its last value has been received
  });
  ceramic::Proc r("right", [&] {
    for (int i = 10; i <= 30; i += 10) right.send(i);
    done.send(0);
  });

  int total = 0;
  for (int finished = 0; finished < 2;) {
    ceramic::select(ceramic::on_recv(left, [&](std::optional<int> v) { total += v.value_or(0); }),
                    ceramic::on_recv(right, [&](std::optional<int> v) { total += v.value_or(0); }),
                    ceramic::on_recv(done, [&](std::optional<int>) { ++finished; }));
  }
  std::printf("total: %d\n", total);   // 66, whatever the order the values came in
  // [/doc:fanin]
  expect(total == 66, "every value arrived exactly once");
  expect(l.join() == 0 && r.join() == 0, "both producers exited with 0");
  return 0;
}
