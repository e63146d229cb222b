// What the processes of each simulated schedule saw, collected across schedules: the tool of
// the reduction tests (full and reduced DFS must observe the same outcomes).
//
// Lives in MAP_SHARED memory mapped before explore(), so that the writes of every process of
// every schedule's tree are seen by the test. Each process writes its observation into its
// slot; main, once it has joined everyone (so every slot is written), calls end_schedule(),
// which records the slots joined by '|' as that schedule's outcome.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <new>
#include <set>
#include <string>

namespace ceramic::simtest {

template <int kSlots, int kSlotBytes, int kOutcomes>
struct OutcomeLog {
  char slot[kSlots][kSlotBytes];
  std::atomic<int> count{0};
  char outcomes[kOutcomes][kSlots * kSlotBytes + kSlots];

  // A fresh log in shared memory, or nullptr; release with unmap().
  static OutcomeLog* map() {
    void* m = mmap(nullptr, sizeof(OutcomeLog), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? nullptr : new (m) OutcomeLog();
  }
  static void unmap(OutcomeLog* log) {
    if (log != nullptr) munmap(log, sizeof(OutcomeLog));
  }

  void see(int who, const std::string& what) {
    std::snprintf(slot[who], sizeof slot[who], "%s", what.c_str());
  }
  void end_schedule() {
    std::string all;
    for (auto& s : slot) {
      all += s;
      all += '|';
      s[0] = '\0';
    }
    add(all);
  }
  // Records one outcome directly (a program whose main alone observes).
  void add(const std::string& outcome) {
    int i = count.fetch_add(1);
    if (i < kOutcomes) std::snprintf(outcomes[i], sizeof outcomes[i], "%s", outcome.c_str());
  }
  void reset() {
    for (auto& s : slot) s[0] = '\0';
    count.store(0);
  }
  std::set<std::string> set() const {
    std::set<std::string> out;
    for (int i = 0; i < std::min(count.load(), kOutcomes); ++i) out.insert(outcomes[i]);
    return out;
  }
};

}  // namespace ceramic::simtest
