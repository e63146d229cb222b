// simple_chan_send -- Go's goroutine leak profile test ChanSend (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/simple.go).
//
// Shape: a goroutine sends on an unbuffered channel it has just made; nobody else ever holds
// it, so the send can never complete. Go expects the goroutine reported in "chan send".
//
// Fix (the micro test has none; the natural one): the channel has room for the value
// (capacity 1), so the send completes without a receiver.
//
// Adaptations: the goroutine is a Proc nobody joins (go()).
#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::leaks::go;

void run(std::size_t capacity) {
  go("sender", [capacity] {
    Chan<int> only_mine(ChanOptions{.capacity = capacity});
    only_mine.send(0);  // @leak
  });
}

void bug() { run(0); }
void fix() { run(1); }

const ceramic::leaks::Registration registered{{
    .name = "simple_chan_send",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a goroutine sends on an unbuffered channel nobody else holds",
}};

}  // namespace
