// cockroach_18101 -- GoKer goker/blocking/cockroach/18101 (cockroachdb/cockroach PR 18101,
// fix 822bd17).
//
// Shape: restore() starts splitAndScatter(), which sends 8 spans on a channel with a buffer of
// 6, and returns as soon as its context is cancelled. The cancellation stops the reader but not
// the writer: splitAndScatter() blocks on a full channel forever.
//
// Upstream fix: splitAndScatter() sends in a select with ctx.Done(), so cancellation stops it
// too.
//
// Adaptations: the context is a Chan<char> closed by cancel(); goroutines are Procs; restore()
// joins splitAndScatter's Proc before returning and main joins restore and the canceller
// (GoKer's test returns and leaks them). Spans are bools, as in GoKer.
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::Proc;
using ceramic::select;

constexpr std::size_t kChanSize = 6;

void split_and_scatter(Chan<char>& ctx, Chan<bool>& ready, bool fixed) {
  for (std::size_t i = 0; i < kChanSize + 2; ++i) {
    if (!fixed) {
      ready.send(i != 0);
      continue;
    }
    bool cancelled = false;
    select(on_send(ready, i != 0, [] {}),
           on_recv(ctx, [&](std::optional<char>) { cancelled = true; }));
    if (cancelled) return;
  }
}

void restore(Chan<char>& ctx, bool fixed) {
  Chan<bool> ready(ChanOptions{.capacity = kChanSize});
  Proc g2("splitAndScatter", [&] {
    split_and_scatter(ctx, ready, fixed);
    ready.close();
  });
  for (bool span : ready) {
    (void)span;
    ctx.recv();   // select { case <-ctx.Done(): return }
    break;
  }
  g2.join();
}

void run(bool fixed) {
  Chan<char> ctx;
  Proc g1("restore", [&] { restore(ctx, fixed); });
  Proc helper("cancel", [&] { ctx.close(); });
  g1.join();
  helper.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "cockroach_18101",
    .bug = bug,
    .fix = fix,
    .description = "cancelling a restore stops the reader but leaves the writer blocked",
}};

}  // namespace
