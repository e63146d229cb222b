// cockroach_13755 -- Go's goroutine leak profile test Cockroach13755 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/cockroach13755.go; GoKer
// goker/blocking/cockroach/13755, cockroachdb/cockroach PR 13755, fix ef90607).
//
// Shape: Rows.initContextClose() derives a cancellable context and starts awaitDone(), which
// waits for it to be done and then closes the rows. The test never closes the rows, which
// would cancel the context, so awaitDone() waits forever. Go expects Rows.awaitDone in "chan
// receive".
//
// Fix (upstream): the rows are closed after use, and closing cancels the context.
//
// Adaptations: the context is a Chan<char> that cancel() closes (close is idempotent, as
// cancel is, so awaitDone's own close after the wait is harmless); awaitDone() is a Proc nobody
// joins (go()); main calls initContextClose (Go's test does too).
#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::leaks::go;

struct Rows {
  Chan<char> ctx_done;   // closed by cancel()
  void cancel() { ctx_done.close(); }
  void init_context_close() {
    go("awaitDone", [this] {
      (void)ctx_done.recv();  // @leak
      close();
    });
  }
  void close() { cancel(); }
};

void bug() {
  Rows rs;
  rs.init_context_close();
}

void fix() {
  Rows rs;
  rs.init_context_close();
  rs.close();   // the rows are closed after use
}

const ceramic::leaks::Registration registered{{
    .name = "cockroach_13755",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "rows never closed leave awaitDone waiting on their context",
}};

}  // namespace
