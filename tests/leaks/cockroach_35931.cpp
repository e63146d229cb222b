// cockroach_35931 -- Go's goroutine leak profile test Cockroach35931 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/cockroach35931.go; GoKer
// goker/blocking/cockroach/35931, cockroachdb/cockroach PR 35931, "distsqlrun: fix deadlock in
// flow cancellation", issue 35859).
//
// Shape: Flow.cancel() pushes a cancellation message into each pending inbound stream's
// RowChannel (a buffer of one), one after the other. The left stream is already full; the
// processor reading the flow waits on the right one. The canceller blocks on the left push and
// never reaches the right: canceller and reader wait on each other forever. Go expects the
// canceller in "chan send".
//
// Fix (upstream): the cancellation messages are pushed from separate goroutines, one per
// stream, so the stream the reader waits on gets its message whatever the other streams do.
//
// Adaptations: Go's kernel keeps only the canceller; without a reader, the fix's push into the
// full left stream could never complete either, so the port adds the reader upstream issue
// 35859 describes (a hash join that reads its right input before it drains its left), a Proc
// nobody joins; it leaks with the canceller. Go's map yields the streams in random order; the
// port pushes left first, the order that leaks. The flow registry's mutex guards a map lookup
// and never blocks, so it is left out. The canceller is a Proc nobody joins (go()); in the fix
// it joins its push goroutines (a Proc's children end with it).
#include <vector>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;
using ceramic::leaks::go;

void run(bool fixed) {
  Chan<int> left(ChanOptions{.capacity = 1});
  Chan<int> right(ChanOptions{.capacity = 1});
  left.send(1);   // left.Push(): the left input is full
  go("hashJoiner", [&] {
    (void)right.recv();  // @leak
    (void)left.recv();
    (void)left.recv();
  });
  go("flow.cancel", [&] {
    std::vector<Chan<int>> pending{left, right};   // the flow's pending inbound streams
    if (!fixed) {
      for (Chan<int>& receiver : pending) {
        receiver.send(0);  // @leak
      }
    } else {
      std::vector<Proc> pushers;
      for (Chan<int>& receiver : pending) {
        pushers.emplace_back("push", [&receiver] { receiver.send(0); });
      }
      for (Proc& p : pushers) p.join();
    }
  });
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "cockroach_35931",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "flow cancel blocks pushing into a full stream while the reader waits on another",
}};

}  // namespace
