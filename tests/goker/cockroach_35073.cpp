// cockroach_35073 -- GoKer goker/blocking/cockroach/35073 (cockroachdb/cockroach PR 35073).
//
// Shape: pushers write rows into an outbox's RowChannel (a buffer of 16) as long as the
// consumer status says it needs more rows. The outbox's main loop returns without declaring
// its consumer closed, so with the buffer full a pushing goroutine and then the test block on
// their sends forever.
//
// Fix (as ported): when the outbox's main loop returns it calls ConsumerClosed(), which marks
// the status closed and drains one row (the kernel's own, unused, ConsumerClosed): a blocked
// pusher completes, later pushes see the status and return.
//
// Adaptations: the consumer status, an atomic word in Go, is a Chan<char> that
// ConsumerClosed() closes; Push() reads it with a select on that channel and a default (Go's
// atomic load). The WaitGroup for the outbox is a join. The pushing goroutine is a Proc joined
// at the end of the test (GoKer's test leaks it). 16 rows, as in GoKer.
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::Proc;
using ceramic::select;

constexpr std::size_t kRowChannelBufSize = 16;

struct RowChannel {
  Chan<int> data{ChanOptions{.capacity = kRowChannelBufSize}};
  Chan<char> consumer_closed;   // closed: ConsumerClosed

  void push() {
    bool closed = false;
    select(on_recv(consumer_closed, [&](std::optional<char>) { closed = true; }),
           on_default([] {}));
    if (!closed) data.send(0);   // NeedMoreRows
  }
  void consumer_done() {
    consumer_closed.close();
    select(on_recv(data, [](std::optional<int>) {}), on_default([] {}));
  }
};

void run(bool fixed) {
  RowChannel outbox;
  for (std::size_t i = 0; i < kRowChannelBufSize; ++i) outbox.push();
  Proc pusher("blockedPusher", [&] { outbox.push(); });
  Proc run_outbox("outbox", [&] {
    // mainLoop() returns at once
    if (fixed) outbox.consumer_done();
  });
  run_outbox.join();   // wg.Wait()
  outbox.push();
  pusher.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "cockroach_35073",
    .bug = bug,
    .fix = fix,
    .description = "an outbox exits without closing its consumer side; pushers block on a full buffer",
}};

}  // namespace
