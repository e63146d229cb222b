// etcd_6857 -- GoKer goker/blocking/etcd/6857 (etcd-io/etcd PR 6857, fix 7afc490).
//
// Shape: raft's node.Status() sends a request on the unbuffered status channel that only the
// node's run() loop receives. If Stop() ends run() first, Status() blocks on its send forever.
//
// Upstream fix: Status() selects between sending its request and the node's done channel
// (closed when run() returns), and returns an empty status when the node is done.
//
// Adaptations: Go sends a fresh reply channel over n.status (chan chan Status); a ceramic
// Chan is a handle to shared memory made before fork and cannot travel through a channel, so
// the request is a Chan<char> and the reply comes back on one reply channel made with the
// node (there is one Status() caller). The three goroutines are Procs that main joins
// (GoKer's test returns and leaks Status()).
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::Proc;
using ceramic::select;

struct Node {
  Chan<char> status;   // a Status() request
  Chan<int> reply;     // run()'s answer to it
  Chan<char> stop;
  Chan<char> done;     // closed when run() returns

  void run() {
    bool running = true;
    while (running) {
      select(on_recv(status, [&](std::optional<char>) { reply.send(7); }),
             on_recv(stop, [&](std::optional<char>) {
               done.close();
               running = false;
             }));
    }
  }
  int get_status(bool fixed) {
    if (!fixed) {
      status.send(1);
      return *reply.recv();
    }
    int s = 0;
    select(on_send(status, 1, [&] { s = *reply.recv(); }),
           on_recv(done, [](std::optional<char>) {}));
    return s;
  }
  void do_stop() {
    bool stopped = false;
    select(on_send(stop, 1, [] {}), on_recv(done, [&](std::optional<char>) { stopped = true; }));
    if (!stopped) done.recv();
  }
};

void run(bool fixed) {
  Node n;
  Proc g1("run", [&] { n.run(); });
  Proc g2("Status", [&] { n.get_status(fixed); });
  Proc g3("Stop", [&] { n.do_stop(); });
  g1.join();
  g2.join();
  g3.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "etcd_6857",
    .bug = bug,
    .fix = fix,
    .description = "Status() sends a request to a node loop that Stop() already ended",
}};

}  // namespace
