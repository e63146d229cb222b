// kubernetes_25331 -- GoKer goker/blocking/kubernetes/25331 (kubernetes/kubernetes PR 25331,
// fix 97f4647).
//
// Shape: the etcd3 watcher's run() takes an error from errChan, cancels the watch context and
// then sends the error result on the unbuffered resultChan. Stop() sent that error and then
// cancelled the context, and nobody reads resultChan any more: run() blocks on its send
// forever, the cancelled context cannot wake it.
//
// Upstream fix: run() no longer cancels the context itself, and the result is sent in a select
// with the context's Done channel, so a user who has given up (cancelled) releases it.
//
// Adaptations: context.WithCancel is a Chan<char> that cancel() closes (close is idempotent,
// like cancel); ctx.Done() is a receive on it. The two goroutines are Procs joined by main
// (GoKer's test returns and leaks run()).
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::Proc;
using ceramic::select;

struct WatchChan {
  Chan<char> ctx_done;   // closed by cancel()
  Chan<bool> result;
  Chan<int> errors;
  void cancel() { ctx_done.close(); }
};

void run(bool fixed) {
  WatchChan wc;
  Proc g1("run", [&] {
    select(on_recv(wc.errors,
                   [&](std::optional<int> err) {
                     bool error_result = err.has_value();
                     if (!fixed) {
                       wc.cancel();   // removed by the fix
                       wc.result.send(error_result);
                     } else {
                       select(on_send(wc.result, error_result, [] {}),
                              on_recv(wc.ctx_done, [](std::optional<char>) {}));
                     }
                   }),
           on_recv(wc.ctx_done, [](std::optional<char>) {}));
  });
  Proc g2("Stop", [&] {
    wc.errors.send(1);
    wc.cancel();
  });
  g1.join();
  g2.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "kubernetes_25331",
    .bug = bug,
    .fix = fix,
    .description = "a watcher sends its error result after its context was cancelled",
}};

}  // namespace
