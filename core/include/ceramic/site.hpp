// ceramic — the source location of a channel operation, captured at the call site.
#pragma once

namespace ceramic {

// Where an operation was called from. Every blocking call takes one as a defaulted last
// argument, so reports and traces can name the line a process is blocked at.
// (std::source_location is not usable with every supported compiler, clang 14 lacks
// __builtin_source_location; both compilers have __builtin_FILE/__builtin_LINE.)
struct Site {
  const char* file = "";
  int line = 0;

  static constexpr Site current(const char* file = __builtin_FILE(),
                                int line = __builtin_LINE()) noexcept {
    return Site{file, line};
  }
};

}  // namespace ceramic
