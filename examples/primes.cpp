// The seed README's primes pipeline: a child produces primes until the consumer closes the
// channel; closing stops the blocked writer (send throws ChannelClosed).
#include <ceramic/ceramic.hpp>

#include <cstdio>

static bool is_prime(int n) {
  if (n < 2) return false;
  for (int d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

int main() {
  ceramic::Chan<int> primes;
  ceramic::Proc producer("primes", [&] {
    try {
      for (int n = 2;; ++n) {
        if (is_prime(n)) primes.send(n);
      }
    } catch (const ceramic::ChannelClosed&) {
      std::printf("producer: channel closed, stopping\n");
    }
  });

  for (int i = 0; i < 10; ++i) std::printf("%d ", *primes.recv());
  std::printf("\n");
  std::fflush(stdout);
  primes.close();
  return producer.join();
}
