// close() ends a range-for on the receiving side, in another process.
#include <ceramic/ceramic.hpp>

#include <cstdio>

#include "example_check.hpp"

int main() {
  // [doc:range]
  ceramic::Chan<int> squares;
  ceramic::Proc producer("squares", [&] {
    for (int i = 1; i <= 5; ++i) squares.send(i * i);
    squares.close();                 // the consumer's loop ends after the last value
  });

  int sum = 0;
  for (int v : squares) sum += v;    // like Go's: for v := range squares
  std::printf("sum of squares: %d\n", sum);
  // [/doc:range]
  expect(sum == 55, "1 + 4 + 9 + 16 + 25");
  expect(producer.join() == 0, "the producer exited with 0");
  return 0;
}
