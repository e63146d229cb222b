// cockroach_10790 -- GoKer goker/blocking/cockroach/10790 (cockroachdb/cockroach PR 10790,
// fix f1a5c19).
//
// Shape: Replica.beginCmds() waits on each prerequisite command's channel in a select with its
// context. When the context is cancelled it starts a goroutine to drain the prerequisites and
// goes on, but that goroutine drains all of them again from the first, including one already
// received: it waits forever on a channel whose only send is gone, and the command still
// pending behind it stays blocked on its send.
//
// Upstream fix: on cancellation, beginCmds() starts one goroutine that drains only the
// prerequisites not yet received, and returns.
//
// Adaptations: the context is a Chan<char> closed by cancel(); goroutines are Procs; beginCmds
// joins the drainers it started, main joins everything (GoKer's test returns and leaks them).
// GoKer's helper that completes the commands (its own addition: "not present in the real
// bug") gives up when the context is cancelled; here it always completes them, as commands
// do in the real code, since a drainer that waits for commands nobody completes would block
// in the fixed version too. The stopper, closed by the test and read by nobody, is kept.
//
// Needs: the bug is beginCmds choosing the closed context while a command's sender is ready
// on its channel, two ready cases of one select. PCT ranks the rendezvous above the closed
// channel every time, so only DFS takes that case today (model change 3).
#include <vector>

#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::Proc;
using ceramic::select;

struct Replica {
  std::vector<Chan<bool>> chans;   // prerequisite commands
  Chan<char> quiescer;             // the stopper
};

void begin_cmds(Replica& r, Chan<char>& ctx, bool fixed) {
  std::vector<Proc> drainers;
  for (std::size_t i = 0; i < r.chans.size(); ++i) {
    bool cancelled = false;
    select(on_recv(r.chans[i], [](std::optional<bool>) {}),
           on_recv(ctx, [&](std::optional<char>) { cancelled = true; }));
    if (!cancelled) continue;
    std::size_t first = fixed ? i : 0;
    drainers.emplace_back("drain", [&r, first] {
      for (std::size_t j = first; j < r.chans.size(); ++j) r.chans[j].recv();
    });
    if (fixed) break;
  }
  for (Proc& d : drainers) d.join();
}

void run(bool fixed) {
  Replica r;
  r.chans.resize(2);
  Chan<char> ctx;
  Proc helper("commands", [&] {
    for (Chan<bool>& ch : r.chans) ch.send(true);
  });
  Proc g1("beginCmds", [&] { begin_cmds(r, ctx, fixed); });
  Proc g2("cancel", [&] { ctx.close(); });
  r.quiescer.close();   // r.stopper.Stop()
  helper.join();
  g1.join();
  g2.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "cockroach_10790",
    .bug = bug,
    .fix = fix,
    .description = "a cancelled beginCmds drains prerequisites it already received",
}};

}  // namespace
