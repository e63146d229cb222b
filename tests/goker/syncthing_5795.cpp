// syncthing_5795 -- GoKer goker/blocking/syncthing/5795 (syncthing/syncthing PR 5795).
//
// Shape: a connection's dispatcher loop hands a ClusterConfig message to the model, whose
// callback closes the connection. Close() closes the `closed` channel and then waits for
// dispatcherLoopStopped, which the dispatcher closes only when it returns: the dispatcher
// waits for itself, and the test waiting for it blocks too.
//
// Upstream fix: Close() runs internalClose() in its own goroutine (go c.internalClose()), so
// the dispatcher returns and closes dispatcherLoopStopped.
//
// Adaptations: goroutines are Procs. The fix's closer goroutine is started by the dispatcher
// and outlives its loop, so the dispatcher's Proc joins it after the loop and its deferred
// close (a Proc cannot be handed to another process); main joins the reader and the
// dispatcher. sync.Once around the close is dropped: there is one caller. The message is an
// int (1: ClusterConfig).
//
// Fix needs: the reader polls `closed` with a default in a loop. DFS explores the schedule
// where that loop runs forever before anything else, and reports a runaway on the correct
// program: it needs fair schedules (model change 4).
#include <optional>

#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::Proc;
using ceramic::select;

constexpr int kClusterConfig = 1;

struct RawConnection {
  Chan<int> inbox;
  Chan<char> dispatcher_loop_stopped;
  Chan<char> closed;
  bool fixed = false;
  std::optional<Proc> closer;   // the fix's internalClose goroutine (dispatcher's process)

  void internal_close() {
    closed.close();
    dispatcher_loop_stopped.recv();
  }
  void close() {
    if (!fixed) {
      internal_close();
    } else {
      closer.emplace("internalClose", [this] { internal_close(); });
    }
  }
  void reader_loop() {
    bool stop = false;
    while (!stop) {
      select(on_recv(closed, [&](std::optional<char>) { stop = true; }), on_default([] {}));
    }
  }
  void dispatcher_loop() {
    for (;;) {
      std::optional<int> msg;
      bool stop = false;
      select(on_recv(inbox, [&](std::optional<int> m) { msg = m; }),
             on_recv(closed, [&](std::optional<char>) { stop = true; }));
      if (stop || msg != kClusterConfig) break;
      close();   // the model's ClusterConfig callback
    }
    dispatcher_loop_stopped.close();
  }
};

void run(bool fixed) {
  RawConnection c;
  c.fixed = fixed;
  Proc reader("readerLoop", [&] { c.reader_loop(); });   // c.Start()
  Proc dispatcher("dispatcherLoop", [&] {
    c.dispatcher_loop();
    if (c.closer) c.closer->join();
  });
  c.inbox.send(kClusterConfig);
  c.dispatcher_loop_stopped.recv();
  reader.join();
  dispatcher.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "syncthing_5795",
    .bug = bug,
    .fix = fix,
    .description = "a connection closed from its own dispatcher waits for that dispatcher",
    .dfs_iterations = 200,   // a polling loop; DFS does not complete
}};

}  // namespace
