// pattern_double_send -- Go's goroutine leak profile test DoubleSend (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/commonpatterns.go; Saioc et al., CGO 2024).
//
// Shape: doubleSend must send one message; on an error it sends nil but lacks the return, so
// it goes on to send the normal message too. The caller receives one message: on an
// unbuffered channel the second send blocks forever. Go's test calls it without an error, with
// an error, and with an error on a channel with room for one; it expects the second goroutine
// reported in "chan send".
//
// Fix: return after the error send.
//
// Adaptations: the goroutines are Procs nobody joins (go()); nil and struct{}{} are 0 and 1.
#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::leaks::go;

void double_send(Chan<int>& ch, bool error, bool fixed) {
  if (error) {
    ch.send(0);   // in case of an error, send nil
    if (fixed) return;
  }
  ch.send(1);  // @leak
}

void run(bool fixed) {
  Chan<int> ch;
  go("doubleSend", [&] { double_send(ch, false, fixed); });
  (void)ch.recv();
  go("doubleSend(err)", [&] { double_send(ch, true, fixed); });
  (void)ch.recv();
  Chan<int> ch1(ChanOptions{.capacity = 1});
  go("doubleSend(err, buffered)", [&] { double_send(ch1, true, fixed); });
  (void)ch1.recv();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::leaks::Registration registered{{
    .name = "pattern_double_send",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "an error path sends twice where one receive was meant",
}};

}  // namespace
