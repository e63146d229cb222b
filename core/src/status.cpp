#include "ceramic/status.hpp"

#include "ceramic/detail/channel.hpp"
#include "ceramic/detail/futex.hpp"

namespace ceramic {

const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::ok: return "ok";
    case Status::closed: return "closed";
    case Status::timeout: return "timeout";
    case Status::peer_died: return "peer_died";
  }
  return "unknown";
}

namespace detail {
Deadline deadline_after(std::int64_t ns) noexcept {
  if (ns < 0) ns = 0;
  std::int64_t now = now_ns();
  return ns >= kNoDeadline - now ? kNoDeadline - 1 : now + ns;
}
}  // namespace detail

}  // namespace ceramic
