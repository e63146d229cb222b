// Non-blocking receive and send: a select with on_default never waits.
#include <ceramic/ceramic.hpp>

#include <cstdio>
#include <optional>

#include "example_check.hpp"

int main() {
  ceramic::Chan<int> chan(ceramic::ChanOptions{.capacity = 1});
  // [doc:default]
  bool got = false;   // receive if a value is there, else go on
  ceramic::select(ceramic::on_recv(chan, [&](std::optional<int> v) { got = v.has_value(); }),
                  ceramic::on_default([] {}));

  bool sent = ceramic::select(ceramic::on_send(chan, 42, [] {}),   // send if there is room
                              ceramic::on_default([] {})) == 0;
  // [/doc:default]
  expect(!got, "an empty channel: the default ran");
  expect(sent, "a free buffer slot: the send ran");

  bool full = ceramic::select(ceramic::on_send(chan, 43, [] {}), ceramic::on_default([] {})) == 1;
  expect(full, "a full buffer: the default ran");
  int v = 0;
  ceramic::select(ceramic::on_recv(chan, [&](std::optional<int> x) { v = x.value_or(0); }),
                  ceramic::on_default([] {}));
  expect(v == 42, "a queued value: the receive ran");
  std::printf("empty: default; room: sent; full: default; then received %d\n", v);
  return 0;
}
