// ceramic — the trace file's setup: creating, checking and mapping the file that CERAMIC_TRACE
// names (format: ceramic/trace_format.hpp). The event observer that writes into it is tracer.cpp.
//
// The file is shared with every traced process, so its header is checked once, when this
// process attaches, and the geometry copied into a private TraceLayout: the writer never re-reads
// an offset, a count or a capacity from the file. Only the header's atomic counters
// (strings_used, threads_used, channels_used, ring_head, dropped_*) are shared, and every index
// drawn from them is checked against the private layout before use.
//
// Who may write the file: processes of this user only. The file is created 0600; an existing file
// is attached only if it is a regular file of this process's user that others cannot write, so
// a file planted by another user never receives the trace. A same-user process can still
// truncate it under the writer (a SIGBUS), as it could kill the writer outright.
#pragma once

#include <cstdint>
#include <string>

namespace ceramic::detail {

// The geometry of an attached trace file, validated and private to this process.
struct TraceLayout {
  std::uint32_t max_threads = 0;
  std::uint32_t max_channels = 0;
  std::uint32_t ring_capacity = 0;  // a power of two
  std::uint32_t string_bytes = 0;
  std::uint64_t threads_off = 0;
  std::uint64_t channels_off = 0;
  std::uint64_t ring_off = 0;
  std::uint64_t strings_off = 0;
  std::uint64_t file_bytes = 0;
  std::int64_t created_mono_ns = 0;
};

struct AttachedTrace {
  unsigned char* base = nullptr;  // maps layout.file_bytes bytes; null when attaching failed
  TraceLayout layout;
};

// Creates the trace file at path if it does not exist, then opens, checks and maps it. On
// failure returns a null base and says why in *why.
AttachedTrace attach_trace_file(const char* path, std::string* why) noexcept;

// Writes a fresh header for a trace file of the given capacities (ring: a power of two) into
// base, which maps at least trace::geometry(...).file_bytes zeroed bytes.
void init_trace_file(unsigned char* base, std::uint32_t threads, std::uint32_t channels,
                     std::uint32_t ring, std::uint32_t strings);

}  // namespace ceramic::detail
