// The race from the seed README, in real processes:
//
//   thread A { write(); }   thread B { read(); }   main { write(); read(); }
//
// Intended: main writes to B and reads from A. But A may meet B first; then main's write has no
// reader left, and it blocks forever. Here main gives up after a deadline so the program can
// count how often that happens. With --block it does not give up: run it under ceramic-run to
// see the deadlock found, explained and drawn (scripts/demo.sh does).
#include <ceramic/ceramic.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 200;
  bool forever = argc > 2 && std::string_view(argv[2]) == "--block";
  int stuck = 0;
  for (int i = 0; i < runs; ++i) {
    ceramic::Chan<int> chan;
    ceramic::Proc a("A", [&] { chan.send(1); });
    ceramic::Proc b("B", [&] { chan.recv(); });
    if (forever) {
      chan.send(2);  // may block forever: the race
      chan.recv();
      continue;
    }
    if (chan.send_for(2, 200ms) != ceramic::Status::ok) {
      ++stuck;  // A met B: nobody will ever read main's value
      continue;
    }
    int v;
    if (chan.recv_for(v, 200ms) != ceramic::Status::ok) ++stuck;
  }
  std::printf("seed race: main blocked in %d of %d runs\n", stuck, runs);
  return 0;
}
