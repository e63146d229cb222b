// syncthing_5795 -- Go's goroutine leak profile test Syncthing5795 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/syncthing5795.go; GoKer
// goker/blocking/syncthing/5795, syncthing/syncthing PR 5795).
//
// Shape: a connection's dispatcher loop hands a ClusterConfig message to the model, whose
// callback closes the connection. Close() closes the `closed` channel and then waits for
// dispatcherLoopStopped, which the dispatcher closes only when it returns: the dispatcher waits
// for itself, and the test, waiting for the dispatcher to stop, blocks too. Go expects the
// dispatcher and the test goroutine in "chan receive".
//
// Fix (upstream): Close() runs internalClose() in its own goroutine (go c.internalClose()), so
// the dispatcher returns and closes dispatcherLoopStopped.
//
// Adaptations: the test goroutine and the dispatcher are Procs nobody joins (go()). The fix's
// closer goroutine is started by the dispatcher and outlives its loop: the dispatcher joins it
// after its deferred close (a Proc's children end with it). sync.Once around the close is left
// out: there is one caller. The message is an int (1: ClusterConfig).
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::Proc;
using ceramic::select;
using ceramic::leaks::go;

struct RawConnection {
  Chan<int> inbox;
  Chan<char> dispatcher_loop_stopped;
  Chan<char> closed;

  void internal_close() {
    closed.close();
    (void)dispatcher_loop_stopped.recv();  // @leak
  }

  void dispatcher_loop(bool fixed) {
    std::optional<Proc> closer;   // the fix's go c.internalClose()
    for (;;) {
      std::optional<int> msg;
      bool stop = false;
      select(on_recv(inbox, [&](std::optional<int> m) { msg = m; }),
             on_recv(closed, [&](std::optional<char>) { stop = true; }));
      if (stop || msg.value_or(0) != 1) break;
      // receiver.ClusterConfig(msg): the model's callback closes the connection
      if (!fixed) {
        internal_close();
      } else if (!closer) {
        closer.emplace("internalClose", [this] { internal_close(); });
      }
    }
    dispatcher_loop_stopped.close();   // defer close(c.dispatcherLoopStopped)
    if (closer) closer->join();
  }
};

void run(bool fixed) {
  go("test", [fixed] {
    RawConnection c;
    go("dispatcherLoop", [&] { c.dispatcher_loop(fixed); });   // c.Start()
    c.inbox.send(1);
    (void)c.dispatcher_loop_stopped.recv();  // @leak
  });
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "syncthing_5795",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a connection closed from its own dispatcher waits for that dispatcher",
}};

}  // namespace
