// grpc_1424 -- Go's goroutine leak profile test Grpc1424 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/grpc1424.go; GoKer
// goker/blocking/grpc/1424, grpc/grpc-go PR 1424, fix 64bd0b0).
//
// Shape: DialContext's goroutine starts lbWatcher and waits for it on doneChan, but lbWatcher
// ranges over the balancer's notify channel and returns when it is closed without ever closing
// doneChan. The waiting goroutine blocks forever. Go expects DialContext's goroutine in "chan
// receive".
//
// Fix (upstream): lbWatcher closes doneChan when it returns (defer close(doneChan)).
//
// Adaptations: the goroutines are Procs nobody joins (go()); DialContext runs in main (Go runs
// it in a goroutine that returns: a Proc's children end with it). The address teardown under a
// mutex in lbWatcher's loop body does nothing here (no connections) and is left out; the notify
// channel carries bools.
#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::leaks::go;

void lb_watcher(Chan<bool>& notify, Chan<char>& done, bool fixed) {
  for (bool addr : notify) (void)addr;   // no connections to tear down
  if (fixed) done.close();
}

void dial_context(bool fixed) {
  Chan<bool> addr_ch;   // roundRobin.addrCh
  Chan<int> wait_c(ChanOptions{.capacity = 1});
  go("dial", [&] {
    Chan<char> done;
    go("lbWatcher", [&] { lb_watcher(addr_ch, done, fixed); });
    (void)done.recv();  // @leak
    wait_c.close();
  });
  addr_ch.close();
}

void bug() { dial_context(false); }
void fix() { dial_context(true); }

const ceramic::leaks::Registration registered{{
    .name = "grpc_1424",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a goroutine waits for a watcher that returns without closing doneChan",
}};

}  // namespace
