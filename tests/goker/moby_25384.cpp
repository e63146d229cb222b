// moby_25384 -- GoKer goker/blocking/moby/25384 (moby/moby PR 25384, fix 42360d1).
//
// Shape: the plugin manager's init() adds one WaitGroup count per plugin, then starts one
// goroutine per plugin and calls group.Wait() inside the loop. With two plugins the first
// Wait() waits for two Done() calls while only one goroutine has been started: it blocks
// forever.
//
// Upstream fix: group.Wait() moves after the loop.
//
// Adaptations: the WaitGroup is a channel with a buffer of one per plugin: Done() sends (never
// blocks, like Done), Wait() receives as many values as were added. The goroutines are Procs
// that init() joins after its waits, and main joins init() (GoKer's test returns and leaks it).
#include <vector>

#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;

void init(std::size_t plugins, bool fixed) {
  Chan<char> group(ChanOptions{.capacity = plugins});   // group.Add(len(plugins))
  auto wait = [&] {
    for (std::size_t i = 0; i < plugins; ++i) group.recv();
  };
  std::vector<Proc> started;
  for (std::size_t p = 0; p < plugins; ++p) {
    started.emplace_back("plugin", [&] { group.send(1); });   // defer group.Done()
    if (!fixed) wait();
  }
  if (fixed) wait();
  for (Proc& s : started) s.join();
}

void run(bool fixed) {
  Proc g("init", [&] { init(2, fixed); });
  g.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "moby_25384",
    .bug = bug,
    .fix = fix,
    .description = "WaitGroup.Wait inside the loop waits for goroutines not started yet",
}};

}  // namespace
