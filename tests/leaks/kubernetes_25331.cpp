// kubernetes_25331 -- Go's goroutine leak profile test Kubernetes25331 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/kubernetes25331.go; GoKer
// goker/blocking/kubernetes/25331, kubernetes/kubernetes PR 25331, fix 97f4647).
//
// Shape: the etcd3 watcher's run() takes an error from errChan, cancels the watch context and
// then sends the error result on the unbuffered resultChan. Stop() sent that error and then
// cancelled the context, and nobody reads resultChan: run() blocks on its send forever, and the
// cancelled context cannot wake it. Go expects watchChan.run in "chan send".
//
// Fix (upstream): run() no longer cancels the context itself, and the result is sent in a
// select with the context's Done channel, so a watcher whose user has given up (cancelled) is
// released.
//
// Adaptations: context.WithCancel is a Chan<char> that cancel() closes (close is idempotent,
// like cancel). run() and Stop() are Procs nobody joins (go()), started by main (Go starts them
// from a goroutine that returns: a Proc's children end with it). The error is an int.
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;
using ceramic::leaks::go;

struct WatchChan {
  Chan<char> ctx_done;   // closed by cancel()
  Chan<bool> result_chan;
  Chan<int> err_chan;

  void cancel() { ctx_done.close(); }
  void stop() {
    err_chan.send(1);   // errors.New("Error")
    cancel();
  }
  void run(bool fixed) {
    select(on_recv(err_chan,
                   [&](std::optional<int> err) {
                     const bool err_result = err.value_or(0) != 0;
                     if (!fixed) {
                       cancel();   // removed in the fix
                       result_chan.send(err_result);  // @leak
                     } else {
                       select(on_send(result_chan, err_result, [] {}),
                              on_recv(ctx_done, [](std::optional<char>) {}));
                     }
                   }),
           on_recv(ctx_done, [](std::optional<char>) {}));
  }
};

void run(bool fixed) {
  WatchChan wc;
  go("run", [&] { wc.run(fixed); });
  go("Stop", [&] { wc.stop(); });
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "kubernetes_25331",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "the watcher sends its error result after its context was cancelled",
}};

}  // namespace
