// grpc_1424 -- GoKer goker/blocking/grpc/1424 (grpc/grpc-go PR 1424, fix 64bd0b0).
//
// Shape: DialContext's goroutine starts lbWatcher and waits for it on doneChan, but lbWatcher
// ranges over the balancer's notify channel and returns when it is closed without ever closing
// doneChan. The waiting goroutine blocks forever.
//
// Upstream fix: lbWatcher closes doneChan when it returns (defer close(doneChan)).
//
// Adaptations: goroutines are Procs; each joins the Procs it started (DialContext's goroutine
// joins lbWatcher after its wait, main joins DialContext's goroutine); GoKer's test returns and
// leaks them. The address teardown under a mutex in lbWatcher's loop body does nothing here
// (no connections) and is left out; the notify channel carries bools.
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;

void lb_watcher(Chan<bool>& notify, Chan<char>& done, bool fixed) {
  for (bool addr : notify) (void)addr;   // no connections to tear down
  if (fixed) done.close();
}

void dial_context(bool fixed) {
  Chan<bool> addr_ch;                            // roundRobin.addrCh
  Chan<int> wait_c(ChanOptions{.capacity = 1});
  Proc g2("dial", [&] {
    Chan<char> done;
    Proc g3("lbWatcher", [&] { lb_watcher(addr_ch, done, fixed); });
    done.recv();
    g3.join();
    wait_c.close();
  });
  addr_ch.close();
  g2.join();
}

void bug() { dial_context(false); }
void fix() { dial_context(true); }

const ceramic::goker::Registration registered{{
    .name = "grpc_1424",
    .bug = bug,
    .fix = fix,
    .description = "a goroutine waits for a watcher that returns without closing doneChan",
}};

}  // namespace
