// ceramic — Chan<T>: Go-style channels between processes and threads.
//
// A Chan is a cheap, copyable handle; copies are the same channel. A channel made before fork()
// is shared with the child (Proc forks), so the usual pattern is: make channels, start Procs that
// capture them, talk. Unrelated processes meet through named channels (Chan<T>::create / open).
//
// Semantics (Go's, across processes):
//   - Unbuffered (capacity 0): send blocks until a receiver has taken the value; recv blocks until
//     a sender offers one. Buffered (capacity n): send blocks only while n values are queued.
//   - Any number of senders and receivers in any mix of processes and threads; each value is
//     received exactly once. Waiters are served first come, first served.
//   - close() is idempotent and wakes every waiter. After close, recv drains the buffered values
//     and then reports closed (std::nullopt / Status::closed); a blocked or later send fails
//     (send throws ChannelClosed, send_for returns Status::closed).
//   - A peer killed at any moment (even SIGKILL mid-transfer of a large value) never leaves the
//     channel corrupt or another process hanging: send/recv complete with another peer;
//     send_for/recv_for return Status::peer_died when the partner of an in-flight transfer died
//     (nothing was transferred; retrying is safe).
//
// T must be trivially copyable, or std::string (up to ChanOptions::max_value_bytes, 1 GiB by
// default: long values are read straight from the sender's memory, so a 16 MiB string costs
// one copy).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#include "ceramic/detail/channel.hpp"
#include "ceramic/detail/string_value.hpp"
#include "ceramic/options.hpp"
#include "ceramic/site.hpp"
#include "ceramic/status.hpp"

namespace ceramic {

template <class T>
inline constexpr bool is_channel_value_v =
    std::is_trivially_copyable_v<T> || std::is_same_v<T, std::string>;

template <class T>
class Chan {
  static_assert(is_channel_value_v<T>,
                "ceramic::Chan<T>: T must be trivially copyable or std::string");

 public:
  // An unbuffered channel, shared with threads and with processes forked later.
  explicit Chan(Site site = Site::current()) : Chan(ChanOptions{}, site) {}
  explicit Chan(ChanOptions opts, Site site = Site::current())
      : ch_(detail::Channel::create_anonymous(shape(), opts, site)) {}

  // A named channel that unrelated processes can open. The name is 1-200 characters from
  // [A-Za-z0-9._-] and must not start with '.'. Created exclusively (ChannelError if it exists
  // and a live process holds it) with mode 0600; the name is removed when the creating process's
  // last handle is destroyed (processes that opened it keep using it). A name left behind by a
  // creator that was killed, and that no live process holds any more, is reclaimed: the new
  // channel shares nothing with the old one.
  static Chan create(std::string_view name, ChanOptions opts = {}, Site site = Site::current()) {
    return Chan(detail::Channel::create_named(name, shape(), opts, site));
  }
  // Opens a channel made by create(). ChannelError if it does not exist, is not a ceramic
  // channel, carries another type, belongs to another user or is writable by others (unless
  // OpenOptions::allow_foreign_owner), or is held by no live process (its creator ended without
  // destroying it; create() reclaims such a name).
  static Chan open(std::string_view name, Site site = Site::current()) {
    return Chan(detail::Channel::open_named(name, shape(), OpenOptions{}, site));
  }
  static Chan open(std::string_view name, OpenOptions opts, Site site = Site::current()) {
    return Chan(detail::Channel::open_named(name, shape(), opts, site));
  }

  // Blocks until a receiver takes v (unbuffered) or v is queued (buffered).
  // Throws ChannelClosed if the channel is or becomes closed before that.
  void send(const T& v, Site site = Site::current()) {
    if (send_impl(v, kForever, site) == Status::closed) throw ChannelClosed();
  }
  // Blocks until a value arrives; std::nullopt once the channel is closed and drained.
  std::optional<T> recv(Site site = Site::current()) {
    T out{};
    if (recv_impl(out, kForever, site) != Status::ok) return std::nullopt;
    return out;
  }
  // As send/recv, giving up after `timeout` (0 = try once without blocking). A send_for whose
  // long value a receiver is pulling when the timeout passes gives it one more second
  // (kWithdrawGrace) to finish, then takes the value back (Status::timeout, not delivered),
  // however stopped or stuck the receiver is (docs/channels.md, "Timeouts").
  Status send_for(const T& v, std::chrono::nanoseconds timeout, Site site = Site::current()) {
    return send_impl(v, std::max<std::int64_t>(timeout.count(), 0), site);
  }
  Status recv_for(T& out, std::chrono::nanoseconds timeout, Site site = Site::current()) {
    return recv_impl(out, std::max<std::int64_t>(timeout.count(), 0), site);
  }

  void close(Site site = Site::current()) { ch_->close(site); }
  bool closed() const noexcept { return ch_->closed(); }
  std::size_t capacity() const noexcept { return ch_->capacity(); }
  // A process-tree-unique id, as the tracer and reports name the channel.
  std::uint64_t id() const noexcept { return ch_->id(); }

  // for (T v : chan) receives until the channel is closed and drained. Each receive is
  // reported (traces, deadlock and leak reports) at the loop's line: begin() takes the caller's
  // site, which for a range-for is the loop statement.
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(Chan* c, Site site) : c_(c), site_(site) { ++*this; }
    const T& operator*() const { return *v_; }
    iterator& operator++() {
      v_ = c_->recv(site_);
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !v_.has_value(); }

   private:
    Chan* c_ = nullptr;
    Site site_{};
    std::optional<T> v_;
  };
  iterator begin(Site site = Site::current()) { return iterator(this, site); }
  std::default_sentinel_t end() { return {}; }

  friend bool operator==(const Chan& a, const Chan& b) noexcept { return a.ch_ == b.ch_; }

  // The type-erased channel, for select and the tools.
  detail::Channel& raw() const noexcept { return *ch_; }

 private:
  explicit Chan(std::shared_ptr<detail::Channel> ch) : ch_(std::move(ch)) {}

  static detail::Shape shape() {
    if constexpr (std::is_same_v<T, std::string>) {
      return {0, detail::type_tag("std::string")};
    } else {
      return {static_cast<std::uint32_t>(sizeof(T)), detail::type_tag(typeid(T).name())};
    }
  }

  static constexpr std::int64_t kForever = -1;

  Status send_impl(const T& v, std::int64_t timeout_ns, Site site) {
    if constexpr (std::is_same_v<T, std::string>) {
      return ch_->send_for(v.data(), v.size(), timeout_ns, site);
    } else {
      return ch_->send_for(&v, sizeof(T), timeout_ns, site);
    }
  }
  Status recv_impl(T& out, std::int64_t timeout_ns, Site site) {
    return ch_->recv_for(detail::Sink{&prepare_value, &out}, timeout_ns, site);
  }

 public:
  // Where a received value of len bytes goes (ctx is a T*): internal, shared with select.
  static void* prepare_value(void* ctx, std::size_t len) {
    T& out = *static_cast<T*>(ctx);
    if constexpr (std::is_same_v<T, std::string>) {
      // Growing: no zero-fill of bytes the receive is about to write, whatever the caller's -std.
      return detail::string_for_overwrite(out, len);
    } else {
      return len == sizeof(T) ? static_cast<void*>(&out) : nullptr;
    }
  }


 private:
  std::shared_ptr<detail::Channel> ch_;
};

}  // namespace ceramic
