// grpc_862 -- Go's goroutine leak profile test Grpc862 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/grpc862.go; GoKer goker/blocking/grpc/862,
// grpc/grpc-go PR 862, fix dd5645b).
//
// Shape: DialContext starts resetAddrConn in a goroutine, which waits for the address
// connection's context (derived from the ClientConn's) to be done. DialContext returns a nil
// connection, and its deferred function closes the connection only when there is one: nothing
// ever cancels the ClientConn, and the goroutine waits forever. Go expects DialContext's
// goroutine in "chan receive". (Go's leak kernel has dropped GoKer's retry loop: the goroutine
// just waits.)
//
// Fix (upstream): DialContext's deferred function closes the ClientConn when it returns no
// connection; Close cancels the ClientConn's context, and so the address connection's.
//
// Adaptations: each context is a Chan<char> closed by its cancel; the address connection's
// Done is a select on its own context and its parent's (a derived context). The ClientConn's
// list of address connections lives in the goroutine in Go and is shared; Close here cancels
// the ClientConn's context, which ends every derived one, and the teardown of the list is left
// out. The goroutines are Procs nobody joins (go()); DialContext runs in main (Go runs it in a
// goroutine: a Proc's children end with it). The dial context and its canceller are kept.
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::select;
using ceramic::leaks::go;

struct ClientConn {
  Chan<char> ctx_done;   // closed by cancel()
  void close() { ctx_done.close(); }

  void reset_addr_conn() {
    Chan<char> ac_done;   // the address connection's own context, derived from ctx_done
    // resetTransport(): wait for the address connection's context to be done
    select(on_recv(ac_done, [](std::optional<char>) {}),  // @leak
           on_recv(ctx_done, [](std::optional<char>) {}));
  }
};

void dial_context(Chan<char>& dial_ctx_done, bool fixed) {
  ClientConn cc;
  ClientConn* conn = nullptr;   // never a connection, in Go's kernel too
  go("resetAddrConn", [&] { cc.reset_addr_conn(); });
  // the deferred function
  select(on_recv(dial_ctx_done, [&](std::optional<char>) {
           if (conn != nullptr) conn->close();
           conn = nullptr;
         }),
         on_default([] {}));
  if (fixed && conn == nullptr) cc.close();
}

void run(bool fixed) {
  Chan<char> dial_ctx_done;
  go("cancel", [&] { dial_ctx_done.close(); });
  dial_context(dial_ctx_done, fixed);
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "grpc_862",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a dial without a connection never cancels its address connection",
}};

}  // namespace
