// ceramic — outcome of channel operations and the errors the API throws.
#pragma once

#include <stdexcept>
#include <string>

namespace ceramic {

// Result of the operations that report instead of throwing (send_for, recv_for).
//   ok         the value was delivered (send) or received (recv).
//   closed     the channel is closed (and, for recv, drained).
//   timeout    the deadline passed before a partner arrived; nothing was transferred.
//   peer_died  the partner died in the middle of a transfer; nothing was transferred and the
//              channel is intact, so the caller may simply retry.
enum class Status { ok, closed, timeout, peer_died };

const char* to_string(Status) noexcept;

// Thrown by Chan<T>::send when the channel is closed, or closes while the send is blocked.
// (Go panics here; ceramic reports.)
struct ChannelClosed : std::runtime_error {
  ChannelClosed() : std::runtime_error("ceramic: send on a closed channel") {}
};

// Thrown when a channel cannot be created or opened (bad name, a name that exists already, a
// foreign or corrupt shared-memory object, a type mismatch, out of resources) and when a
// channel's shared state is found corrupt. The message says which and why.
struct ChannelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace ceramic
