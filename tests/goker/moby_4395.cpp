// moby_4395 -- GoKer goker/blocking/moby/4395 (moby/moby PR 4395, fix d3a6ee1).
//
// Shape: utils.Go(f) starts a goroutine that sends f()'s error on an unbuffered channel and
// returns the channel. A caller that does not wait for the result leaves the goroutine blocked
// on its send forever.
//
// Upstream fix: the result channel gets a buffer of one, so the send never waits for a reader.
//
// Adaptations: the goroutine is a Proc, the error a Chan<int> value. The caller joins the Proc
// before returning (GoKer's test just returns and leaks it), so the leak is a deadlock that
// today's simulator reports.
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;

void run(std::size_t capacity) {
  Chan<int> result(ChanOptions{.capacity = capacity});   // Go(): make(chan error[, 1])
  Proc g2("G2", [&] { result.send(1); });                 // ch <- f(): f returned an error
  g2.join();                                              // the caller never reads result
}

void bug() { run(0); }
void fix() { run(1); }

const ceramic::goker::Registration registered{{
    .name = "moby_4395",
    .bug = bug,
    .fix = fix,
    .description = "a goroutine sends its result on a channel its caller never drains",
}};

}  // namespace
