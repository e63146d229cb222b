// ceramic-fuzz-seeds CORPUS_DIR: writes a small seed corpus for trace_reader_fuzz.
//
//   minimal.trace  an empty trace of the smallest geometry (no threads, no channels, one event)
//   real.trace     a real trace, small capacities (the ring wraps), written by the tracer while
//                  this program runs Procs that ping-pong, select, use a buffered channel that is
//                  closed, a named channel, a timeout, the seed race (A meets B, main times out),
//                  and a child left blocked for ever on a channel only it holds, then killed:
//                  the saved state analyses as a deadlock.
#include <signal.h>
#include <unistd.h>

#include <ceramic/ceramic.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "ceramic/detector/snapshot.hpp"
#include "ceramic/trace_format.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::Proc;

void make_minimal(const std::string& path) {
  ceramic::trace::Capacities c;
  c.threads = 0;
  c.channels = 0;
  c.events = 1;
  c.string_bytes = 0;
  std::filesystem::remove(path);
  ceramic::trace::create_file(path, c);
}

// True once the trace shows a blocked thread of pid (bounded wait).
bool wait_until_blocked(const std::string& path, pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto snap = ceramic::detector::TraceFile::map(path).snapshot(false);
    for (const auto& t : snap.threads) {
      if (t.pid == pid && t.blocked()) return true;
    }
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

int make_real(const std::string& path) {
  ceramic::trace::Capacities c;
  c.threads = 8;
  c.channels = 16;
  c.events = 64;
  c.string_bytes = 1024;
  std::filesystem::remove(path);
  ceramic::trace::create_file(path, c);
  if (!ceramic::trace::start(path)) return 1;

  {  // ping-pong
    Chan<int> ping, pong;
    Proc peer("pong", [&] {
      for (int v : ping) pong.send(v + 1);
    });
    for (int i = 0; i < 20; ++i) {
      ping.send(i);
      (void)pong.recv();
    }
    ping.close();
    peer.join();
  }
  {  // select, buffered + close, named, timeout
    Chan<int> a, b;
    Chan<std::string> buffered(ceramic::ChanOptions{.capacity = 2});
    auto named = Chan<int>::create("ceramic-fuzz-seed-" + std::to_string(getpid()));
    Proc sel("selector", [&] {
      ceramic::select(ceramic::on_recv(a, [](std::optional<int>) {}),
                      ceramic::on_recv(b, [](std::optional<int>) {}));
      buffered.send("one");
      buffered.send("two");
      buffered.close();
      named.send(5);
    });
    b.send(1);
    for (const std::string& s : buffered) (void)s;
    (void)named.recv();
    int v;
    (void)a.recv_for(v, 1ms);  // times out
    sel.join();
  }
  {  // the seed race, A meeting B first; main gives up at its deadline
    Chan<int> chan;
    Proc pa("A", [&] { chan.send(1); });
    Proc pb("B", [&] { chan.recv(); });
    pb.join();
    (void)chan.send_for(2, 10ms);
    pa.join();
  }
  {  // a child blocked for ever on a channel only it holds, killed without an exit record
    Proc stuck("stuck", [] {
      Chan<int> own;
      own.recv();
    });
    if (!wait_until_blocked(path, stuck.pid())) return 1;
    stuck.kill(SIGKILL);
    stuck.join();
  }
  ceramic::trace::stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  std::filesystem::create_directories(dir);
  make_minimal(dir + "/minimal.trace");
  if (make_real(dir + "/real.trace") != 0) {
    std::fprintf(stderr, "%s: could not record a real trace\n", argv[0]);
    return 1;
  }
  return 0;
}
