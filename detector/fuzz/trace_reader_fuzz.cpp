// libFuzzer target: arbitrary bytes as a trace file, through everything that reads one.
//
// The trace file is untrusted input (ceramic/trace_format.hpp, THREAT MODEL): whatever the
// bytes, TraceFile::from_bytes either throws TraceError or parses; a parsed file's snapshot,
// events, deadlock analysis and every printer must then run without crashing, hanging,
// reading out of bounds, undefined behaviour or any other exception.
//
// Build and run: detector/fuzz/run.sh [SECONDS]   (clang, -fsanitize=fuzzer,address,undefined)
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ceramic/detector/analysis.hpp"
#include "ceramic/detector/chrome_trace.hpp"
#include "ceramic/detector/leaks.hpp"
#include "ceramic/detector/report.hpp"
#include "ceramic/detector/snapshot.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ceramic::detector;
  std::optional<TraceFile> file;
  try {
    file.emplace(TraceFile::from_bytes(std::vector<unsigned char>(data, data + size)));
  } catch (const TraceError&) {
    return 0;  // rejected with a message: fine
  }
  // snapshot(false): only what the file says; asking the OS about the file's pids would make
  // the outcome depend on the machine.
  Snapshot snapshot = file->snapshot(false);
  std::vector<EventInfo> events = file->events();
  Report report = analyze(snapshot);
  volatile std::size_t sink = 0;
  sink = sink + to_text(report).size();
  sink = sink + to_json(report).size();
  sink = sink + to_dot(report).size();
  sink = sink + to_chrome_json(snapshot, events).size();
  (void)confirms(report, analyze(snapshot));
  Report leaks = find_leaks(snapshot, events);  // what ceramic-run reads at the program's end
  sink = sink + to_text(leaks).size();
  return 0;
}
