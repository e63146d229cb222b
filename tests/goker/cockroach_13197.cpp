// cockroach_13197 -- GoKer goker/blocking/cockroach/13197 (cockroachdb/cockroach PR 13197,
// fix 9bf770c).
//
// Shape: DB.begin() derives a cancellable context for a transaction and starts awaitDone(),
// which waits for that context to be done. A caller that begins a transaction and never
// finishes it (no Commit or Rollback, which would cancel the context) leaves awaitDone()
// blocked forever.
//
// Fix (as ported): the transaction is finished: Rollback() cancels its context, and
// awaitDone() returns.
//
// Adaptations: the context is a Chan<char> closed by cancel(); awaitDone() is a Proc joined by
// the test (GoKer's test returns and leaks it).
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;

struct Tx {
  Chan<char> ctx;   // closed by cancel()
  void rollback() { ctx.close(); }
};

void run(bool fixed) {
  Tx tx;                                              // db.begin(ctx)
  Proc await_done("awaitDone", [&] { tx.ctx.recv(); });
  if (fixed) tx.rollback();
  await_done.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "cockroach_13197",
    .bug = bug,
    .fix = fix,
    .description = "a transaction never finished leaves its awaitDone goroutine waiting",
}};

}  // namespace
