// cockroach_10790 -- Go's goroutine leak profile test Cockroach10790 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/cockroach10790.go; GoKer
// goker/blocking/cockroach/10790, cockroachdb/cockroach PR 10790, fix f1a5c19).
//
// Shape: Replica.beginCmds() waits on each prerequisite command's channel in a select with its
// context. When the context is cancelled it starts a goroutine to drain the prerequisites and
// goes on, but that goroutine drains all of them again from the first, including one already
// received: it waits forever on a channel whose only send is gone. Go expects the draining
// goroutine in "chan receive".
//
// Fix (upstream): on cancellation, beginCmds() starts one goroutine that drains only the
// prerequisites not yet received, and returns.
//
// Adaptations: the context is a Chan<char> closed by cancel(). The goroutines are Procs nobody
// joins (go()); beginCmds runs in main (Go runs it in a goroutine that returns: a Proc's
// children end with it, so the drainer would not outlive it as Go's does). Go's helper that
// completes the commands (GoKer's addition) gives up on the cancelled context; here it always
// completes them, as commands do in the real code (a drainer waiting for commands nobody
// completes would block in the fixed version too), so in the leak the helper's send of the
// second command also waits forever, and both lines are marked.
//
// Live (live_bug): the leak needs beginCmds to receive the first command and then take the
// cancelled context over the second. The canceller waits at a gate that beginCmds opens once it
// has the first command; the helper, after the first command, waits at a gate that beginCmds
// opens when its loop is over, so the second select can only take the context.
#include <cstddef>
#include <optional>
#include <vector>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::select;
using ceramic::leaks::Gate;
using ceramic::leaks::go;

struct Gates {             // live_bug only
  Gate first_received;     // beginCmds has the first command: cancel now
  Gate loop_done;          // beginCmds has gone through every command
};

struct Replica {
  std::vector<Chan<bool>> chans{Chan<bool>(), Chan<bool>()};   // prerequisite commands
};

void send_chans(Replica& r, Gates* gates) {
  for (std::size_t i = 0; i < r.chans.size(); ++i) {
    if (i == 1 && gates) gates->loop_done.wait();
    r.chans[i].send(true);  // @leak
  }
}

void begin_cmds(Replica& r, Chan<char>& ctx_done, bool fixed, Gates* gates) {
  for (std::size_t i = 0; i < r.chans.size(); ++i) {
    bool cancelled = false;
    select(on_recv(r.chans[i], [](std::optional<bool>) {}),
           on_recv(ctx_done, [&](std::optional<char>) { cancelled = true; }));
    if (i == 0 && gates) gates->first_received.open();
    if (!cancelled) continue;
    const std::size_t first = fixed ? i : 0;
    go("drain", [&r, first] {
      for (std::size_t j = first; j < r.chans.size(); ++j) {
        (void)r.chans[j].recv();  // @leak
      }
    });
    if (fixed) break;
  }
  if (gates) gates->loop_done.open();
}

void run(bool fixed, Gates* gates) {
  Replica r;
  Chan<char> ctx_done;
  go("sendChans", [&] { send_chans(r, gates); });
  go("cancel", [&] {
    if (gates) gates->first_received.wait();
    ctx_done.close();
  });
  begin_cmds(r, ctx_done, fixed, gates);
}

void bug() { run(false, nullptr); }
void fix() { run(true, nullptr); }
void live_bug() {
  Gates gates;
  run(false, &gates);
}

const ceramic::leaks::Registration registered{{
    .name = "cockroach_10790",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .live_bug = live_bug,
    .description = "a cancelled beginCmds drains prerequisites it already received",
}};

}  // namespace
