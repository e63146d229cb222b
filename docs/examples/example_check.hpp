// The guide's examples check their own outcome: a wrong one ends the program with status 1 and
// says which check failed, so ctest fails instead of printing something nobody reads.
#pragma once

#include <cstdio>
#include <cstdlib>

inline void expect(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "example check failed: %s\n", what);
  std::exit(1);
}
