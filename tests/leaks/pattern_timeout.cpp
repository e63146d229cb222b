// pattern_timeout -- Go's goroutine leak profile test Timeout (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/commonpatterns.go; Saioc et al., CGO 2024).
//
// Shape: timeout starts a goroutine that sends its result on an unbuffered channel, then
// selects between the result and the context's Done; when the context wins, nobody ever
// receives the result and the sender blocks forever. Go's test cancels the context first and
// runs timeout 100 times; it expects the senders in "chan send" (the select picks among ready
// cases at random, so the sender ready first is practically never received from every time).
//
// Fix (the pattern's): the result channel has room for the result (capacity 1).
//
// Adaptations: the context is a channel closed by cancel(); the sender is a Proc nobody joins
// (go()); main calls timeout once (a Proc's children end with it, so from a goroutine that
// returns the sender would not outlive it). Live (live_bug): the sender waits at a gate that
// main opens once its select has returned, so the select can only take the Done case and the
// sender arrives with nobody left to receive.
#include <cstddef>
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_recv;
using ceramic::select;
using ceramic::leaks::Gate;
using ceramic::leaks::go;

void timeout(Chan<char>& ctx_done, std::size_t capacity, Gate* gate) {
  Chan<int> ch(ChanOptions{.capacity = capacity});
  go("sender", [&] {
    if (gate) gate->wait();
    ch.send(1);  // @leak
  });
  select(on_recv(ch, [](std::optional<int>) {}),            // the sender is released
         on_recv(ctx_done, [](std::optional<char>) {}));   // the sender is leaked
  if (gate) gate->open();
}

void run(std::size_t capacity, Gate* gate) {
  Chan<char> ctx_done;
  ctx_done.close();   // cancel()
  timeout(ctx_done, capacity, gate);
}

void bug() { run(0, nullptr); }
void fix() { run(1, nullptr); }
void live_bug() {
  Gate gate;
  run(0, &gate);
}

const ceramic::leaks::Registration registered{{
    .name = "pattern_timeout",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .live_bug = live_bug,
    .description = "a cancelled context wins the select and the result sender is left blocked",
}};

}  // namespace
