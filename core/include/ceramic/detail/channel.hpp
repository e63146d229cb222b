// ceramic — the type-erased channel that Chan<T> wraps. Internal API: may change without notice.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ceramic/control.hpp"
#include "ceramic/options.hpp"
#include "ceramic/site.hpp"
#include "ceramic/status.hpp"

namespace ceramic::detail {

// Absolute CLOCK_MONOTONIC time in nanoseconds; kNoDeadline blocks forever.
using Deadline = std::int64_t;
inline constexpr Deadline kNoDeadline = INT64_MAX;
Deadline deadline_after(std::int64_t ns) noexcept;

// What a channel carries: fixed-size values (elem_size > 0) or byte strings of any length
// (elem_size == 0). type_tag tells apart types of the same size when unrelated processes open a
// named channel.
struct Shape {
  std::uint32_t elem_size = 0;
  std::uint64_t type_tag = 0;
};

// Where recv puts a value: prepare(len) returns memory for exactly len bytes, or nullptr if a
// value of that length cannot be stored (the channel then reports corruption). The same type
// the control seam hands to a controller.
using Sink = control::Receiver;

// How a select's poll (deadline 0) takes the channel lock: by the select's own deadline
// (kNoDeadline: waits for it, as Go's select does; a lock that cannot be had in time makes
// the poll report Status::timeout), or not at all: held, the calling thread holds it already
// (a select that found this case ready under it), and the operation starts under it.
struct PollLock {
  Deadline by = kNoDeadline;
  bool held = false;
};

class Region;  // the mapping of one channel's shared memory (core/src/region.hpp)

// One process's handle to a channel. Thread-safe: any number of threads may call any method at
// once. Copies of the owning shared_ptr in forked children refer to the same channel.
class Channel {
 public:
  static std::shared_ptr<Channel> create_anonymous(Shape, const ChanOptions&, Site);
  static std::shared_ptr<Channel> create_named(std::string_view name, Shape, const ChanOptions&,
                                               Site);
  static std::shared_ptr<Channel> open_named(std::string_view name, Shape, const OpenOptions&,
                                             Site);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Chan<T>'s entry points: timeout_ns < 0 waits for ever, 0 tries once without blocking.
  // Handed to the installed control::Controller, if any (control.hpp).
  Status send_for(const void* data, std::size_t len, std::int64_t timeout_ns, Site);
  Status recv_for(Sink, std::int64_t timeout_ns, Site);
  // The shared-memory protocol itself, with an absolute deadline (0: a select's poll). send's
  // len has been checked with check_value by the caller.
  Status send(const void* data, std::size_t len, Deadline, Site, PollLock = {});
  Status recv(Sink, Deadline, Site, PollLock = {});
  void close(Site);

  bool closed() const noexcept;
  // Throws std::invalid_argument (message prefixed by who) when a value of len bytes cannot
  // travel on this channel. Checked before an operation reaches the protocol or a controller.
  void check_value(std::size_t len, const char* who) const;
  // The channel as the control seam names it.
  control::ChannelRef ref() const noexcept { return {id(), capacity(), name_}; }
  std::uint64_t id() const noexcept;
  std::size_t capacity() const noexcept;
  const std::string& name() const noexcept { return name_; }

  Region& region() noexcept { return *region_; }

 private:
  Channel(std::unique_ptr<Region>, std::string name, pid_t unlink_in);
  std::unique_ptr<Region> region_;
  std::string name_;     // "" for anonymous channels
  pid_t unlink_in_ = 0;  // the creating process unlinks a named channel when its handle goes
};

// A stable 64-bit tag for a type name (FNV-1a); used only to catch mismatched named channels.
constexpr std::uint64_t type_tag(std::string_view s) noexcept {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

}  // namespace ceramic::detail
