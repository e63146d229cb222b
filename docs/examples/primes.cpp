// The seed README's primes: a child computes primes for as long as someone wants them; the
// consumer closes the channel when it has enough, and the producer's blocked send fails.
#include <ceramic/ceramic.hpp>

#include <cstdio>
#include <vector>

#include "example_check.hpp"

static bool is_prime(int n) {
  for (int d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return n >= 2;
}

int main() {
  // [doc:primes]
  ceramic::Chan<int> primes;
  ceramic::Proc producer("primes", [&] {
    try {
      for (int n = 2;; ++n) {
        if (is_prime(n)) primes.send(n);   // blocks until the consumer wants the next one
      }
    } catch (const ceramic::ChannelClosed&) {
      // the consumer closed the channel: stop computing
    }
  });

  std::vector<int> got;
  for (int i = 0; i < 3; ++i) got.push_back(*primes.recv());   // 2, 3, 5
  primes.close();                    // wakes the producer, blocked in send with 7
  int code = producer.join();        // 0: it left its loop and returned
  // [/doc:primes]
  expect(got == std::vector<int>{2, 3, 5}, "the first three primes");
  expect(code == 0, "the producer stopped cleanly");
  std::printf("primes: %d %d %d; producer exited with %d\n", got[0], got[1], got[2], code);
  return 0;
}
