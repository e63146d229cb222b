// kubernetes_5316 -- Go's goroutine leak profile test Kubernetes5316 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/kubernetes5316.go; GoKer
// goker/blocking/kubernetes/5316, kubernetes/kubernetes PR 5316, fix cc3a433).
//
// Shape: finishRequest() runs the request in a goroutine that reports on one of two unbuffered
// channels, and selects on both and on time.After(timeout). When the timeout wins, nobody will
// ever receive the goroutine's result and it blocks on its send forever. Go expects that
// goroutine in "chan send".
//
// Fix (upstream): both result channels get a buffer of one.
//
// Adaptations: time.After(timeout) is an on_timeout case (1 us, Go's); the request's 2 ms sleep
// is left out (the simulator lets the timeout win anyway). Go's request fails or succeeds with
// rand.Intn; the port fails every time (both paths have the same shape). The goroutine is a
// Proc nobody joins (go()); finishRequest runs in main (Go runs it in a goroutine that returns:
// a Proc's children end with it).
//
// Live (live_bug): the request waits at a gate that finishRequest opens once its select has
// returned, so only the timeout can end the select (as Go's 2 ms sleep against a 1 us timeout
// makes likely), and the result is sent with nobody left to receive it.
#include <chrono>
#include <cstddef>
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_recv;
using ceramic::on_timeout;
using ceramic::select;
using ceramic::leaks::Gate;
using ceramic::leaks::go;

void finish_request(std::chrono::nanoseconds timeout, std::size_t capacity, Gate* gate) {
  Chan<bool> ch(ChanOptions{.capacity = capacity});
  Chan<int> err_ch(ChanOptions{.capacity = capacity});
  go("request", [&] {
    if (gate) gate->wait();
    const int err = 1;   // fn() failed
    if (err != 0) {
      err_ch.send(err);  // @leak
    } else {
      ch.send(true);
    }
  });
  select(on_recv(ch, [](std::optional<bool>) {}), on_recv(err_ch, [](std::optional<int>) {}),
         on_timeout(timeout, [] {}));
  if (gate) gate->open();
}

void bug() { finish_request(1us, 0, nullptr); }
void fix() { finish_request(1us, 1, nullptr); }
void live_bug() {
  Gate gate;
  finish_request(1us, 0, &gate);
}

const ceramic::leaks::Registration registered{{
    .name = "kubernetes_5316",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .live_bug = live_bug,
    .description = "a request times out and its worker blocks on the result send",
}};

}  // namespace
