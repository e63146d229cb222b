// simple_select_no_cases -- Go's goroutine leak profile test SelectNoCases (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/simple.go).
//
// Shape: a goroutine runs `select {}`, which blocks forever by definition. Go expects it
// reported in "select (no cases)".
//
// Fix (the micro test has none; the natural one): a goroutine that is to wait until it is told
// waits on a channel that the caller closes to tell it.
//
// Adaptations: the goroutine is a Proc nobody joins (go()); ceramic::select() with no cases
// is Go's `select {}`.
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::on_recv;
using ceramic::select;
using ceramic::leaks::go;

void bug() {
  go("forever", [] {
    select();  // @leak
  });
}

void fix() {
  Chan<char> done;
  go("until_done", [&] { select(on_recv(done, [](std::optional<char>) {})); });
  done.close();
}

const ceramic::leaks::Registration registered{{
    .name = "simple_select_no_cases",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "a goroutine blocks in a select of no cases",
}};

}  // namespace
