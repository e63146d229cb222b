// ceramic — select: Go's select statement for ceramic channels, across processes.
//
//   std::size_t fired = ceramic::select(
//       ceramic::on_recv(jobs, [&](std::optional<Job> j) { ... }),   // nullopt: jobs closed
//       ceramic::on_send(results, r, [&] { ... }),
//       ceramic::on_timeout(100ms, [&] { ... }));
//
// Semantics (Go's):
//   - If one or more cases can proceed, one of them is chosen uniformly at random, so no case
//     starves another; otherwise the default case runs if there is one; otherwise select blocks
//     until one case can complete (or the timeout case's duration passes) and completes exactly
//     that one. A select never consumes from two channels, and a value offered to it by a
//     partner that it does not choose stays with that partner, which goes on waiting.
//   - A receive from a closed channel is ready and passes std::nullopt. A send on a closed
//     channel throws ChannelClosed (Go panics), whether it was closed before or during the wait.
//   - The same channel may appear in several cases, and any mix of channel types, buffered and
//     unbuffered, shared with other threads and processes.
//   - The chosen case's callback runs after the select has completed the operation, so it may
//     itself use channels (including the ones in this select).
//   - Returns the index (0-based, in argument order) of the case that fired.
//   - A partner that dies mid-transfer makes the select try again, exactly like send/recv.
// At most 64 channel cases. Chan handles passed in must outlive the call (they do, as
// arguments of the full expression).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ceramic/chan.hpp"
#include "ceramic/detail/channel.hpp"
#include "ceramic/site.hpp"

namespace ceramic {

namespace detail {

struct SelectCase {
  using Kind = control::Case::Kind;
  Kind kind;
  Channel* ch = nullptr;
  const void* data = nullptr;  // send: the value
  std::size_t len = 0;
  Sink sink{};                 // recv: where the value goes
  std::int64_t timeout_ns = 0;
};

// Chooses and completes one case (see above). Returns its index; *closed tells a receive that
// fired because its channel is closed. Throws ChannelClosed for a send case on a closed channel.
std::size_t select(SelectCase* cases, std::size_t n, bool* closed, Site site);

template <class T, class F>
struct RecvCase {
  Channel* ch;
  F fn;
  Site site;
  T value{};
  SelectCase erase() {
    return SelectCase{SelectCase::Kind::recv, ch, nullptr, 0,
                      Sink{&Chan<T>::prepare_value, &value}, 0};
  }
  void fire(bool closed) {
    std::optional<T> v;
    if (!closed) v.emplace(std::move(value));
    fn(std::move(v));
  }
};

template <class T, class F>
struct SendCase {
  Channel* ch;
  T value;
  F fn;
  Site site;
  SelectCase erase() {
    if constexpr (std::is_same_v<T, std::string>) {
      return SelectCase{SelectCase::Kind::send, ch, value.data(), value.size(), {}, 0};
    } else {
      return SelectCase{SelectCase::Kind::send, ch, &value, sizeof(T), {}, 0};
    }
  }
  void fire(bool) { fn(); }
};

template <class F>
struct DefaultCase {
  F fn;
  Site site;
  SelectCase erase() { return SelectCase{SelectCase::Kind::fallback}; }
  void fire(bool) { fn(); }
};

template <class F>
struct TimeoutCase {
  std::chrono::nanoseconds after;
  F fn;
  Site site;
  SelectCase erase() {
    return SelectCase{SelectCase::Kind::timeout, nullptr, nullptr, 0, {}, after.count()};
  }
  void fire(bool) { fn(); }
};

}  // namespace detail

// Receive from chan; fn(std::optional<T>) gets the value, or std::nullopt if chan is closed.
template <class T, class F>
auto on_recv(const Chan<T>& chan, F fn, Site site = Site::current()) {
  return detail::RecvCase<T, F>{&chan.raw(), std::move(fn), site};
}
// Send value on chan; fn() runs once it was received (or queued, if chan is buffered).
template <class T, class V, class F>
auto on_send(const Chan<T>& chan, V&& value, F fn, Site site = Site::current()) {
  return detail::SendCase<T, F>{&chan.raw(), T(std::forward<V>(value)), std::move(fn), site};
}
// Runs when no other case is ready: makes the select non-blocking.
template <class F>
auto on_default(F fn, Site site = Site::current()) {
  return detail::DefaultCase<F>{std::move(fn), site};
}
// Runs if no other case completed within `after`.
template <class F>
auto on_timeout(std::chrono::nanoseconds after, F fn, Site site = Site::current()) {
  return detail::TimeoutCase<F>{after, std::move(fn), site};
}

// Go's `select {}`: no case can ever fire, so it blocks forever (a process that must wait until
// it is killed). Under the simulator it is a wait nothing can serve: a deadlock, or a leak.
[[noreturn]] void select(Site site = Site::current());

template <class... Cases>
  requires(sizeof...(Cases) > 0)
std::size_t select(Cases&&... cases) {
  auto refs = std::forward_as_tuple(cases...);
  detail::SelectCase erased[] = {cases.erase()...};
  Site site = std::get<0>(refs).site;
  bool closed = false;
  std::size_t fired = detail::select(erased, sizeof...(Cases), &closed, site);
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((I == fired ? (std::get<I>(refs).fire(closed), 0) : 0), ...);
  }(std::index_sequence_for<Cases...>{});
  return fired;
}

}  // namespace ceramic
