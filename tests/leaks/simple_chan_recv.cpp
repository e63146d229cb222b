// simple_chan_recv -- Go's goroutine leak profile test ChanRecv (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/simple.go).
//
// Shape: a goroutine receives from a channel it has just made; nobody else ever holds it, so
// the receive can never complete. Go expects the goroutine reported as leaked in
// "chan receive".
//
// Fix (the micro test has none; the natural one): the channel belongs to the caller, which
// closes it when it has nothing more to send, and the close releases the receiver.
//
// Adaptations: the goroutine is a Proc nobody joins (go()); main returns at once, as Go's test
// does once it has yielded.
#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::leaks::go;

void bug() {
  go("receiver", [] {
    Chan<int> only_mine;
    (void)only_mine.recv();  // @leak
  });
}

void fix() {
  Chan<int> c;
  go("receiver", [&] { (void)c.recv(); });
  c.close();
}

const ceramic::leaks::Registration registered{{
    .name = "simple_chan_recv",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a goroutine receives from a channel nobody else holds",
}};

}  // namespace
