// ceramic — the tracer's writer (see ceramic/trace_format.hpp and tracer.cpp).
#pragma once

#include <cstdint>

namespace ceramic::detail {

// If CERAMIC_TRACE names a file, attaches to it (creating and initialising it if it does not
// exist) and installs the tracer as the core's observer. Called once when the library loads.
// A file that is not a valid trace disables tracing with a message on stderr; it never stops
// the program.
bool tracer_autostart() noexcept;
// Attaches to the trace file at path (creating it if missing) and installs the tracer.
bool tracer_attach(const char* path) noexcept;

}  // namespace ceramic::detail
