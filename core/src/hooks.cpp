#include "hooks_internal.hpp"

namespace ceramic {
namespace detail {
std::atomic<hooks::Observer*> g_observer{nullptr};
}  // namespace detail

hooks::Observer* hooks::install(Observer* o) noexcept {
  return detail::g_observer.exchange(o, std::memory_order_acq_rel);
}

}  // namespace ceramic
