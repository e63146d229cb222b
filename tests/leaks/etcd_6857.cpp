// etcd_6857 -- Go's goroutine leak profile test Etcd6857 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/etcd6857.go; GoKer
// goker/blocking/etcd/6857, etcd-io/etcd PR 6857, fix 7afc490).
//
// Shape: raft's node.Status() sends a request on the unbuffered status channel that only the
// node's run() loop receives. If Stop() ends run() first, Status() blocks on its send forever.
// Go expects node.Status in "chan send".
//
// Fix (upstream): Status() selects between sending its request and the node's done channel
// (closed when run() returns), and returns an empty status when the node is done.
//
// Adaptations: Go sends a fresh reply channel over n.status (chan chan Status); a ceramic
// channel cannot travel over a channel, so the node has one reply channel and a request is an
// int. run(), Status() and Stop() are Procs nobody joins (go()), started by main (Go starts
// them from a goroutine that returns: a Proc's children end with it).
//
// Live (live_bug): Status() waits at a gate that the stopper opens once Stop() has returned,
// that is once run() has returned: the request is sent with nobody left to receive it.
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;
using ceramic::leaks::Gate;
using ceramic::leaks::go;

struct Node {
  Chan<int> status;   // requests
  Chan<int> reply;    // answers
  Chan<char> stop;
  Chan<char> done;    // closed when run() returns

  int get_status(bool fixed) {
    if (!fixed) {
      status.send(1);  // @leak
    } else {
      bool stopped = false;
      select(on_send(status, 1, [] {}), on_recv(done, [&](std::optional<char>) { stopped = true; }));
      if (stopped) return 0;
    }
    return reply.recv().value_or(0);
  }

  void run() {
    for (;;) {
      bool stopped = false;
      select(on_recv(status, [&](std::optional<int>) { reply.send(1); }),
             on_recv(stop, [&](std::optional<char>) { stopped = true; }));
      if (stopped) {
        done.close();
        return;
      }
    }
  }

  void stop_node() {
    bool already = false;
    select(on_send(stop, char{1}, [] {}), on_recv(done, [&](std::optional<char>) { already = true; }));
    if (!already) (void)done.recv();
  }
};

void run(bool fixed, Gate* stopped) {
  Node n;
  go("run", [&] { n.run(); });
  go("Status", [&] {
    if (stopped) stopped->wait();
    (void)n.get_status(fixed);
  });
  go("Stop", [&] {
    n.stop_node();
    if (stopped) stopped->open();
  });
}

void bug() { run(false, nullptr); }
void fix() { run(true, nullptr); }
void live_bug() {
  Gate stopped;
  run(false, &stopped);
}

const ceramic::leaks::Registration registered{{
    .name = "etcd_6857",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .live_bug = live_bug,
    .description = "Status() sends to a node loop that Stop() already ended",
}};

}  // namespace
