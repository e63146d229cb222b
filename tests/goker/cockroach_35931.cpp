// cockroach_35931 -- GoKer goker/blocking/cockroach/35931 (cockroachdb/cockroach PR 35931,
// "distsqlrun: fix deadlock in flow cancellation", issue 35859).
//
// Shape: Flow.cancel() pushes a cancellation message into each pending inbound stream's
// RowChannel, one after the other. When the first channel is full and the processor reading
// the flow is waiting on the second one, the canceller blocks on the first push and never
// reaches the second: canceller and reader wait on each other forever.
//
// Upstream fix: the cancellation messages are pushed from separate goroutines, one per stream,
// so the stream the reader waits on gets its message whatever the other streams do.
//
// Adaptations: GoKer's kernel keeps only the canceller, so its main goroutine blocks alone on
// the full left channel. The port adds the reader that upstream issue 35859 describes (a hash
// join that reads its right input before it drains its left), since without any reader the
// fix's push into the full left channel could never complete either. The flow registry's
// mutex guards a map lookup and never blocks, so it is dropped; rows are ints, channels have a
// buffer of one as in GoKer. The fix's push goroutines are Procs joined by the canceller
// (GoKer's test returns without waiting for anything).
#include <vector>

#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;

void run(bool fixed) {
  Chan<int> left(ChanOptions{.capacity = 1});
  Chan<int> right(ChanOptions{.capacity = 1});
  std::vector<Chan<int>> inbound{left, right};   // the flow's pending inbound streams
  left.send(1);                                  // left.Push(): the left input is full
  Proc reader("hashJoiner", [&] {
    right.recv();   // the join waits for its right input first
    left.recv();
    left.recv();
  });
  // flow.cancel(): push a cancellation message into every pending stream.
  if (!fixed) {
    for (Chan<int>& stream : inbound) stream.send(-1);
  } else {
    std::vector<Proc> pushers;
    for (Chan<int>& stream : inbound) {
      pushers.emplace_back("cancelPush", [&stream] { stream.send(-1); });
    }
    for (Proc& p : pushers) p.join();
  }
  reader.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "cockroach_35931",
    .bug = bug,
    .fix = fix,
    .description = "flow cancellation blocks pushing into a full stream the reader is not reading",
}};

}  // namespace
