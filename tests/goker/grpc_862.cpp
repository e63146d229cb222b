// grpc_862 -- GoKer goker/blocking/grpc/862 (grpc/grpc-go PR 862, fix dd5645b).
//
// Shape: DialContext starts resetAddrConn in a goroutine whose resetTransport() retries with
// time.After back-offs until the address connection's context is cancelled. When DialContext
// returns a nil connection (here always), nothing ever closes the ClientConn, so the retry
// goroutine never stops.
//
// Upstream fix: DialContext's deferred function closes the ClientConn (cc.Close()) when it
// returns no connection; Close cancels the contexts and the retry loop returns.
//
// Adaptations: each context is a Chan<char> closed by its cancel; the address connection's
// context, derived from the ClientConn's, is done when either is closed, so the retry select
// receives on both. time.After is an on_timeout case. DialContext joins the retry Proc before
// returning and main joins DialContext and the canceller (GoKer's test returns and leaks the
// retry goroutine). The goroutine never blocks for good: it keeps retrying, so the simulator
// reports the hang as a runaway (no end within max_steps transitions), not as a deadlock.
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_timeout;
using ceramic::Proc;
using ceramic::select;

struct ClientConn {
  Chan<char> ctx;      // cc.ctx
  Chan<char> ac_ctx;   // the addrConn's context, a child of cc.ctx
  void close() {
    ctx.close();       // cc.cancel()
    ac_ctx.close();    // tearDown: ac.cancel()
  }
};

void reset_transport(ClientConn& cc) {
  for (int retries = 1;; ++retries) {
    bool cancelled = false;
    auto done = [&](std::optional<char>) { cancelled = true; };
    select(on_timeout(std::chrono::nanoseconds(2 * retries), [] {}), on_recv(cc.ac_ctx, done),
           on_recv(cc.ctx, done));
    if (cancelled) return;
  }
}

void dial_context(Chan<char>& ctx, bool fixed) {
  ClientConn cc;
  Proc g2("resetAddrConn", [&] { reset_transport(cc); });
  bool have_conn = false;   // conn is nil in this kernel
  select(on_recv(ctx, [&](std::optional<char>) { if (have_conn) cc.close(); }),
         on_default([] {}));
  if (fixed) cc.close();
  g2.join();
}

void run(bool fixed) {
  Chan<char> ctx;
  Proc g1("DialContext", [&] { dial_context(ctx, fixed); });
  Proc helper("cancel", [&] { ctx.close(); });
  g1.join();
  helper.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "grpc_862",
    .bug = bug,
    .fix = fix,
    .description = "a dial that returns no connection never cancels its retry goroutine",
    .dfs_iterations = 200,   // a retry loop; DFS does not complete
}};

}  // namespace
