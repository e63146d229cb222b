// ceramic — emitting hook events from the core (see ceramic/hooks.hpp).
#pragma once

#include <atomic>

#include "ceramic/control.hpp"
#include "ceramic/hooks.hpp"

namespace ceramic::detail {

extern std::atomic<hooks::Observer*> g_observer;
extern std::atomic<control::Controller*> g_controller;

inline bool observed() noexcept { return g_observer.load(std::memory_order_relaxed) != nullptr; }

// The installed controller (control.hpp). Inline so that every operation pays one relaxed load
// and a branch, not a call. Relaxed is enough: a controller is installed before the operations
// it governs, by the same thread or before the fork() that made this process.
inline control::Controller* controller() noexcept {
  return g_controller.load(std::memory_order_relaxed);
}

inline void emit(const hooks::Record& r) noexcept {
  if (auto* o = g_observer.load(std::memory_order_acquire)) o->on_event(r);
}

}  // namespace ceramic::detail

