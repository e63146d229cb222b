// ceramic detector — leaks: processes the program left blocked forever.
//
// A leak is a process (or thread) blocked WITHOUT a deadline in a ceramic send, recv, select
// (without default or timeout) or join, that can never complete, and that the rest of the
// program outlives. Live, the trace keeps the last state of every thread: a process ended while
// blocked (its Proc destroyed, or the tree ended when the root process exited) stays recorded
// as blocked. Once the program has ended, find_leaks reads that final state:
//   - a thread still recorded as blocked without a deadline is a leak;
//   - except when its process, or an ancestor, was ended by an explicit Proc::kill (the
//     program's intent), recorded by a `kill` event at or after the moment it blocked;
//   - except when it was released before it died: a close of one of its channels, or a peer's
//     rendezvous with it on one of them, recorded after it blocked (the child was woken but
//     killed before it could write its own unblock);
//   - a thread blocked outside ceramic (a call that never returns) is recorded as running:
//     never a leak.
// Events live in a ring: if it wrapped, the oldest kill/close/rendezvous events are gone and
// those exceptions cannot be proven; the report then says how many events were lost.
//
// The report is the deadlock report's struct (Report::leak set), analysed as if the leaked
// processes were still there and everything else had gone, so it explains, for each leaked
// process, where it waits, on which channel made where, and what became of every other holder.
#pragma once

#include "ceramic/detector/report.hpp"
#include "ceramic/detector/snapshot.hpp"

namespace ceramic::detector {

// snapshot: the final state, taken with check_liveness = false after the program ended.
// events: the ring's events (TraceFile::events()). Returns a report with leak = deadlock =
// true if any leak was found, else an empty report. Never throws on odd input: unknown pids,
// missing channels and truncated lists are tolerated.
Report find_leaks(const Snapshot& snapshot, const std::vector<EventInfo>& events);

}  // namespace ceramic::detector
