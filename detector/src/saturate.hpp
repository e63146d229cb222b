// ceramic detector — arithmetic on values read from a trace file: times may be anything, so
// differences saturate instead of overflowing.
#pragma once

#include <cstdint>
#include <limits>

namespace ceramic::detector {

inline std::int64_t sat_sub(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) {
    return b < 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
  }
  return r;
}

}  // namespace ceramic::detector
