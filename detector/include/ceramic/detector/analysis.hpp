// ceramic detector — finding deadlocks in a snapshot.
//
// A blocked thread (without a deadline: a wait that will time out is not a deadlock) is stuck
// when nothing alive can ever complete any of its cases: the greatest fixed point of "every
// live holder of every channel it waits on is itself stuck" (the OR-model knot), computed in
// linear time with a worklist. A wait on a channel no other live process holds is stuck at
// once (the seed's race); a join on a stuck or blocked-forever child is stuck. A process with a
// running thread, or one blocked outside ceramic, counts as able to act: only what can be
// proven is reported.
#pragma once

#include "ceramic/detector/report.hpp"
#include "ceramic/detector/snapshot.hpp"

namespace ceramic::detector {

// The stuck threads of one snapshot (deadlock == !stuck.empty()).
Report analyze(const Snapshot&);

// True when a second snapshot confirms the first report: the same threads are stuck and none
// of them has moved (sequence counters unchanged), so no operation was in flight.
bool confirms(const Report& first, const Report& second);

}  // namespace ceramic::detector
