// moby_33293 -- GoKer goker/blocking/moby/33293 (moby/moby PR 33293; GoKer records no fix
// commit).
//
// Shape: containerWait() makes an unbuffered error channel and, when the wait fails, sends the
// error on it before returning it to the caller. Nobody can be receiving yet, so the goroutine
// blocks on its own send forever.
//
// Fix (as ported): the error channel has a buffer of one, so the error is queued and the
// channel returned; the caller reads it (the shape moby's container wait API settled on:
// make(chan error, 1)).
//
// Adaptations: GoKer picks the error branch with rand.Int31n(2); the port always takes it (the
// other branch sends nothing, and ceramic schedules must be deterministic). The goroutine is a
// Proc that main joins (GoKer's test returns and leaks it). A single process blocked on a
// channel nobody else holds is reported as a deadlock.
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;

Chan<int> container_wait(std::size_t capacity) {
  Chan<int> errc(ChanOptions{.capacity = capacity});
  errc.send(1);   // the wait failed: report the error before handing errc out
  return errc;
}

void run(std::size_t capacity, bool read_error) {
  Proc g1("G1", [&] {
    Chan<int> errc = container_wait(capacity);
    if (read_error) errc.recv();
  });
  g1.join();
}

void bug() { run(0, false); }
void fix() { run(1, true); }

const ceramic::goker::Registration registered{{
    .name = "moby_33293",
    .bug = bug,
    .fix = fix,
    .description = "a function sends an error on its own unbuffered channel before returning it",
}};

}  // namespace
