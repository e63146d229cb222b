// simple_select_no_cases_main -- Go's goroutine leak profile test SelectNoCasesMain
// (golang/go, src/runtime/testdata/testgoroutineleakprofile/simple.go).
//
// Shape: a goroutine receives from a channel nobody sends on, while main blocks in
// `select {}`; a third goroutine writes the profile and ends the program with os.Exit. Go
// expects the receiver reported as leaked, and main not (the profile never reports main).
//
// Fix (the test has none; the natural one): main waits on a channel that is closed when the
// work is done instead of blocking forever, and the receiver's channel is closed too.
//
// Adaptations: ceramic's processes cannot end their parent, so the goroutine that calls
// os.Exit is left out, and main stays blocked: the whole program blocks, and the simulator
// and ceramic-run report a deadlock of main and the receiver (Expect::deadlock), both lines
// marked. The fix's closer is a Proc nobody joins, like the Go goroutine.
#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::select;
using ceramic::leaks::go;

void bug() {
  Chan<int> ch;
  go("receiver", [&] {
    (void)ch.recv();  // @leak
  });
  select();  // @leak
}

void fix() {
  Chan<int> ch;
  Chan<char> done;
  go("receiver", [&] { (void)ch.recv(); });
  go("closer", [&] {
    ch.close();
    done.close();
  });
  (void)done.recv();
}

const ceramic::leaks::Registration registered{{
    .name = "simple_select_no_cases_main",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "main blocks in select {} while a receiver waits on a channel nobody sends on",
    .expect = ceramic::leaks::Expect::deadlock,
}};

}  // namespace
