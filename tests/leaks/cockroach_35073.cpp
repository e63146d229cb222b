// cockroach_35073 -- Go's goroutine leak profile test Cockroach35073 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/cockroach35073.go; GoKer
// goker/blocking/cockroach/35073, cockroachdb/cockroach PR 35073).
//
// Shape: pushers write rows into an outbox's RowChannel (a buffer of 16) as long as the
// consumer status says it needs more rows. The outbox's run() returns without declaring its
// consumer closed, so with the buffer full a pushing goroutine and then the test block on their
// sends forever. Go expects both in "chan send".
//
// Fix (as in tests/goker): when the outbox's run() returns it calls ConsumerClosed(), which
// marks the status closed and drains one row (the kernel's own, unused, ConsumerClosed): a
// blocked pusher completes, later pushes see the status and return.
//
// Adaptations: the consumer status, an atomic word in Go, is a Chan<char> that
// ConsumerClosed() closes; Push() reads it with a select on that channel and a default (Go's
// atomic load). The WaitGroup for the outbox's run() is a join. The test goroutine and the
// pusher are Procs nobody joins (go()); the test joins its pusher at its very end (Go's
// blockedPusherWg, which Go's test never waits on: a Proc's children end with it, and the fix's
// pusher must not be ended before it has pushed). 16 rows, as in Go.
#include <cstddef>
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::Proc;
using ceramic::select;
using ceramic::leaks::go;

constexpr std::size_t kRowChannelBufSize = 16;

struct RowChannel {
  Chan<int> data{ChanOptions{.capacity = kRowChannelBufSize}};
  Chan<char> consumer_closed;   // the consumer status: closed once ConsumerClosed

  bool closed() {
    bool c = false;
    select(on_recv(consumer_closed, [&](std::optional<char>) { c = true; }), on_default([] {}));
    return c;
  }
  void push() {
    if (!closed()) {
      data.send(0);  // @leak
    }
  }
  void consumer_close() {
    consumer_closed.close();
    select(on_recv(data, [](std::optional<int>) {}), on_default([] {}));
  }
};

void run(bool fixed) {
  go("test", [fixed] {
    RowChannel outbox;
    for (std::size_t i = 0; i < kRowChannelBufSize; ++i) outbox.push();
    Proc pusher("blockedPusher", [&] { outbox.push(); });
    Proc run_loop("outbox.run", [&] {
      if (fixed) outbox.consumer_close();
    });
    run_loop.join();   // wg.Wait()
    outbox.push();
    pusher.join();
  });
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "cockroach_35073",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "the outbox exits without closing its consumer side; pushers block",
}};

}  // namespace
