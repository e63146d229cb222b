// cockroach_13755 -- GoKer goker/blocking/cockroach/13755 (cockroachdb/cockroach PR 13755,
// fix ef90607).
//
// Shape: Rows.initContextClose() derives a cancellable context and starts awaitDone(), which
// waits for it to be done and then closes the rows. The query's rows were never closed, so
// the context is never cancelled and awaitDone() blocks forever.
//
// Upstream fix: the rows are closed after use, and closing cancels the context.
//
// Adaptations: the context is a Chan<char> closed by cancel(); awaitDone() is a Proc joined by
// the test (GoKer's test returns and leaks it).
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;

struct Rows {
  Chan<char> ctx;   // closed by cancel()
  void close() { ctx.close(); }
};

void run(bool fixed) {
  Rows rs;
  Proc await_done("awaitDone", [&] { rs.ctx.recv(); });   // initContextClose
  if (fixed) rs.close();
  await_done.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "cockroach_13755",
    .bug = bug,
    .fix = fix,
    .description = "query rows never closed leave their awaitDone goroutine waiting",
}};

}  // namespace
