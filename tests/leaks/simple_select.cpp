// simple_select -- Go's goroutine leak profile test Select (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/simple.go).
//
// Shape: a goroutine selects between a send on one fresh channel and a receive from another;
// nobody else holds either, so neither case can ever fire. Go expects the goroutine reported
// in "select".
//
// Fix (the micro test has none; the natural one): the channel it receives from belongs to the
// caller, which closes it; the receive case then fires.
//
// Adaptations: the goroutine is a Proc nobody joins (go()).
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;
using ceramic::leaks::go;

void bug() {
  go("selector", [] {
    Chan<int> out, in;
    select(on_send(out, 0, [] {}), on_recv(in, [](std::optional<int>) {}));  // @leak
  });
}

void fix() {
  Chan<int> in;
  go("selector", [&] {
    Chan<int> out;
    select(on_send(out, 0, [] {}), on_recv(in, [](std::optional<int>) {}));
  });
  in.close();
}

const ceramic::leaks::Registration registered{{
    .name = "simple_select",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a goroutine selects on two channels nobody else holds",
}};

}  // namespace
