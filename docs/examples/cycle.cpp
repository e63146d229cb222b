// Two processes that each send first and receive second, to each other: neither send can ever
// meet its receive. Under ceramic-run: exit status 3 and a wait-for cycle.
#include <ceramic/ceramic.hpp>

int main() {
  // [doc:cycle]
  ceramic::Chan<int> to_a, to_b;
  ceramic::Proc a("A", [&] {
    to_b.send(1);   // waits for B to receive...
    to_a.recv();
  });
  ceramic::Proc b("B", [&] {
    to_a.send(2);   // ...while B waits for A to receive
    to_b.recv();
  });
  a.join();
  // [/doc:cycle]
  return 0;
}
