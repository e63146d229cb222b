// ceramic sim — the report files an exploration leaves for CI: the HTML report of a failure and
// JUnit XML (Options::html, Options::junit), written through the detector's format table.
#pragma once

#include "ceramic/sim/sim.hpp"

namespace ceramic::sim::detail {

// Writes the files o asks for, for the exploration that produced r. A file that cannot be
// written is reported on stderr; it never changes the result.
void write_artifacts(const Options& o, const Result& r);

}  // namespace ceramic::sim::detail
