// cockroach_13197 -- Go's goroutine leak profile test Cockroach13197 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/cockroach13197.go; GoKer
// goker/blocking/cockroach/13197, cockroachdb/cockroach PR 13197, fix 9bf770c).
//
// Shape: DB.begin() derives a cancellable context for a transaction and starts awaitDone(),
// which waits for that context to be done, then returns the transaction. The test begins a
// transaction and never finishes it (no Commit or Rollback, which cancel the context), so
// awaitDone() waits forever. Go expects Tx.awaitDone in "chan receive".
//
// Fix: the transaction is finished: Rollback() cancels its context and awaitDone() returns.
//
// Adaptations: the context is a Chan<char> that cancel() closes; awaitDone() is a Proc nobody
// joins (go()); main begins the transaction (Go's test does too).
#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::leaks::go;

struct Tx {
  Chan<char> ctx_done;   // the transaction's context: closed by cancel()
  void await_done() {
    (void)ctx_done.recv();  // @leak
  }
  void rollback() { ctx_done.close(); }   // rollback -> close -> cancel
};

Tx begin() {
  Tx tx;
  go("awaitDone", [tx]() mutable { tx.await_done(); });
  return tx;
}

void bug() { (void)begin(); }
void fix() { begin().rollback(); }

const ceramic::leaks::Registration registered{{
    .name = "cockroach_13197",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "an unfinished transaction leaves awaitDone waiting on its context",
}};

}  // namespace
