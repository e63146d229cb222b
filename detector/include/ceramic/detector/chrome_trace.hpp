// ceramic detector — exporting a trace as Chrome trace-event JSON (Perfetto UI,
// chrome://tracing): one track per thread, blocked intervals as slices, each rendezvous as a
// flow arrow from sender to receiver, spawns, exits, closes and timeouts as instant events.
#pragma once

#include <string>
#include <vector>

#include "ceramic/detector/snapshot.hpp"

namespace ceramic::detector {

std::string to_chrome_json(const Snapshot&, const std::vector<EventInfo>&);

}  // namespace ceramic::detector
