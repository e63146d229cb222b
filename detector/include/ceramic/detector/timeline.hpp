// ceramic detector — a trace's events as a timeline: one lane per thread, its blocked intervals,
// its instants (spawn, exit, close, kill, timeout) and the rendezvous between lanes. The Chrome
// trace (chrome_trace.hpp) and the HTML report (formats.hpp) draw the same timeline.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ceramic/detector/snapshot.hpp"

namespace ceramic::detector {

struct Timeline {
  struct Lane {
    pid_t pid = 0, tid = 0;
    std::string process;  // the Proc's name ("" for an unnamed process)
  };
  // A wait: from its block (or join) to what ended it.
  struct Slice {
    std::size_t lane = 0;
    std::int64_t begin_ns = 0, end_ns = 0;
    std::string what;     // "send #1a2b3c", "join"...
    std::string site;     // "file.cpp:12", or ""
    std::string outcome;  // "rendezvous", "woken", "timeout", "still blocked"
  };
  struct Instant {
    std::size_t lane = 0;
    std::int64_t t_ns = 0;
    std::string what;  // "spawn 1234", "exit 0", "close #1a2b3c", "kill 1234", "timeout ..."
    std::string site;
  };
  // A rendezvous: the sender's event to the receiver's.
  struct Flow {
    std::size_t from_lane = 0, to_lane = 0;
    std::int64_t from_ns = 0, to_ns = 0;
    std::uint64_t channel = 0;
  };
  std::vector<Lane> lanes;  // in order of first appearance (the snapshot's threads first)
  std::vector<Slice> slices;
  std::vector<Instant> instants;
  std::vector<Flow> flows;
  std::int64_t end_ns = 0;  // the last event
  // What the times count: "" nanoseconds of trace time; "step" the simulator's transitions (a
  // schedule's timeline, where only the order of steps is real).
  std::string unit;
};

// Builds the timeline of the events still in the trace's ring. Never throws on odd input (an
// unblock without a block, times out of order): it draws what is there. until_ns (trace time,
// e.g. a live snapshot's taken_ns) extends the timeline, and the waits still open, to that
// moment; 0 ends it at the last event (a saved trace read later).
Timeline build_timeline(const Snapshot&, const std::vector<EventInfo>&, std::int64_t until_ns = 0);

}  // namespace ceramic::detector
