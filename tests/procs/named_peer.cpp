// ceramic-test-named-peer: an unrelated process (fork+exec'ed by the named-channel tests) that
// meets the test through a named channel.
//
//   ceramic-test-named-peer NAME echo        open Chan<int64_t> NAME, receive x, send 2x+1
//   ceramic-test-named-peer NAME wrong-type  opening NAME as Chan<double> must throw ChannelError
//   ceramic-test-named-peer NAME missing     opening NAME must throw ChannelError
//
// Exit code 0 when the peer saw what it expected, 2 otherwise (the reason on stderr).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "ceramic/ceramic.hpp"

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "ceramic-test-named-peer: %s\n", why.c_str());
  return 2;
}

template <class T>
int expect_open_fails(const std::string& name) {
  try {
    auto c = ceramic::Chan<T>::open(name);
  } catch (const ceramic::ChannelError&) {
    return 0;
  }
  return fail("opening '" + name + "' succeeded, expected ChannelError");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return fail("usage: ceramic-test-named-peer NAME echo|wrong-type|missing");
  const std::string name = argv[1];
  const std::string mode = argv[2];
  const auto patience = std::chrono::seconds(30);
  try {
    if (mode == "echo") {
      auto c = ceramic::Chan<std::int64_t>::open(name);
      std::int64_t x = 0;
      ceramic::Status st = c.recv_for(x, patience);
      if (st != ceramic::Status::ok) return fail(std::string("recv_for: ") + to_string(st));
      st = c.send_for(2 * x + 1, patience);
      if (st != ceramic::Status::ok) return fail(std::string("send_for: ") + to_string(st));
      return 0;
    }
    if (mode == "wrong-type") return expect_open_fails<double>(name);
    if (mode == "missing") return expect_open_fails<std::int64_t>(name);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return fail("unknown mode " + mode);
}
