// kubernetes_5316 -- GoKer goker/blocking/kubernetes/5316 (kubernetes/kubernetes PR 5316,
// fix cc3a433).
//
// Shape: finishRequest() runs the request in a goroutine that reports on one of two unbuffered
// channels, and selects on both and on time.After(timeout). When the timeout wins, nobody will
// ever receive the goroutine's result and it blocks on its send forever.
//
// Upstream fix: both result channels get a buffer of one.
//
// Adaptations: time.After(timeout) is an on_timeout case; the request (2 ms in GoKer against a
// 1 ms timeout) is a Proc with no delay, since only the order of events matters to the
// simulator. GoKer picks the error or the success channel with rand.Intn; the port reports an
// error every time (both paths have the same shape). main joins the request Proc.
//
// Needs: the bug is the timeout firing while the worker is ready to send, which the simulator
// cannot do until timeouts may fire while a partner is ready (model change 1).
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_recv;
using ceramic::on_timeout;
using ceramic::Proc;
using ceramic::select;

void finish_request(std::size_t capacity) {
  Chan<bool> ch(ChanOptions{.capacity = capacity});
  Chan<int> err_ch(ChanOptions{.capacity = capacity});
  Proc g2("request", [&] {
    bool failed = true;   // fn() returned an error
    if (failed) {
      err_ch.send(1);
    } else {
      ch.send(true);
    }
  });
  select(on_recv(ch, [](std::optional<bool>) {}), on_recv(err_ch, [](std::optional<int>) {}),
         on_timeout(1ms, [] {}));
  g2.join();
}

void bug() { finish_request(0); }
void fix() { finish_request(1); }

const ceramic::goker::Registration registered{{
    .name = "kubernetes_5316",
    .bug = bug,
    .fix = fix,
    .description = "a request times out and its worker blocks on the result send",
}};

}  // namespace
