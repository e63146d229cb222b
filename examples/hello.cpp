// The seed README's first example: a child process sends, the parent receives.
#include <ceramic/ceramic.hpp>

#include <cstdio>
#include <string>

int main() {
  ceramic::Chan<std::string> chan;
  ceramic::Proc child("hello", [&] { chan.send("hello"); });

  auto msg = chan.recv();
  std::printf("parent received: %s\n", msg->c_str());
  return child.join();
}
