// ceramic — channel construction options.
#pragma once

#include <cstddef>

namespace ceramic {

// Meant for designated initializers: Chan<int>(ChanOptions{.capacity = 8}).
// Field order is part of the API; new fields go at the end.
struct ChanOptions {
  // 0: unbuffered (Go's chan(0): send and recv meet). n > 0: buffered like make(chan T, n).
  std::size_t capacity = 0;
  // How many operations may be blocked on the channel at the same moment (across all processes
  // and threads). One more waits for a waiter to leave before it queues. At most 1024.
  std::size_t max_waiters = 64;
  // std::string channels: values up to this many bytes are copied inline through shared memory;
  // longer values are read straight from the sender's memory (one copy) or, for buffered sends
  // and receivers that may not read the sender's memory, parked in the channel's backing file.
  // Ignored for trivially copyable T.
  std::size_t inline_bytes = 1024;
  // std::string channels: the longest value the channel carries (at most 2^40). A send of a
  // longer value throws std::invalid_argument; a receiver never makes room for more than this,
  // whatever a length in shared memory says (a longer one is a corrupt peer: ChannelError).
  // Named channels take it from their creator. Ignored for trivially copyable T.
  std::size_t max_value_bytes = std::size_t{1} << 30;
};

// How Chan<T>::open attaches to a named channel.
struct OpenOptions {
  // A named channel lives in shared memory that everyone who can write the object can scribble
  // on. By default open() refuses an object that belongs to another user, or that users other
  // than its owner may write (group- or world-writable), with a ChannelError that says so. Set
  // this to share a channel between users on purpose (docs/guide/channels.md, "Named channels":
  // what such a peer can and cannot do to this process).
  bool allow_foreign_owner = false;
};

}  // namespace ceramic
