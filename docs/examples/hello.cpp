// The seed README's first example: a child process sends, the parent receives.
// [doc:readme]
#include <ceramic/ceramic.hpp>

// [/doc:readme]
#include <cstdio>
#include <string>

#include "example_check.hpp"

int main() {
  // [doc:readme]
  ceramic::Chan<std::string> chan;                      // unbuffered: send and recv meet
  ceramic::Proc child("hello", [&] { chan.send("hello"); });
  std::printf("parent received: %s\n", chan.recv()->c_str());
  // [/doc:readme]
  expect(child.join() == 0, "the child sent and exited with 0");
  return 0;
}
