// ceramic — emitting hook events from the core (see ceramic/hooks.hpp).
#pragma once

#include <atomic>

#include "ceramic/hooks.hpp"

namespace ceramic::detail {

extern std::atomic<hooks::Observer*> g_observer;

inline bool observed() noexcept { return g_observer.load(std::memory_order_relaxed) != nullptr; }

inline void emit(const hooks::Record& r) noexcept {
  if (auto* o = g_observer.load(std::memory_order_acquire)) o->on_event(r);
}

}  // namespace ceramic::detail
