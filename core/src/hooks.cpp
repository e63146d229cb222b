#include "ceramic/control.hpp"
#include "hooks_internal.hpp"
#include "tracer.hpp"

namespace ceramic {
namespace detail {
std::atomic<hooks::Observer*> g_observer{nullptr};
std::atomic<control::Controller*> g_controller{nullptr};
namespace {
// Every program linked against ceramic links this file (the core emits through g_observer), so
// tracing starts with the library whenever CERAMIC_TRACE is set.
[[maybe_unused]] const bool g_tracing = tracer_autostart();
}  // namespace
}  // namespace detail

hooks::Observer* hooks::install(Observer* o) noexcept {
  return detail::g_observer.exchange(o, std::memory_order_acq_rel);
}

}  // namespace ceramic

namespace ceramic::control {
Controller* install(Controller* c) noexcept {
  return detail::g_controller.exchange(c, std::memory_order_acq_rel);
}
Controller* active() noexcept { return detail::controller(); }
}  // namespace ceramic::control
