// grpc_1275 -- GoKer goker/blocking/grpc/1275 (grpc/grpc-go PR 1275, fix 0669f3f).
//
// Shape: a test reads from a stream in a goroutine, closes the stream and waits for the reader
// with a timer. CloseStream() does not wake the reader blocked in recvBufferReader.Read(), so
// the test's timer fires and the reader stays blocked forever.
//
// Upstream fix: closing the stream delivers a message (an error) to the stream's receive
// buffer, so the blocked Read returns.
//
// Adaptations: the timer is an on_timeout case, the reader a Proc that the test joins after
// its select (GoKer's test returns and leaks it). The receive buffer is an unbuffered
// Chan<bool>, as in GoKer; the fix's message is a send on it.
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_timeout;
using ceramic::Proc;
using ceramic::select;

void inflight_stream_closing(bool fixed) {
  Chan<bool> recv_buffer;   // the stream's recvBuffer
  Chan<char> donec;
  Proc g2("reader", [&] {
    recv_buffer.recv();     // stream.Read: recvBufferReader.Read
    donec.close();
  });
  if (fixed) recv_buffer.send(false);   // CloseStream: tell the reader the stream is gone
  select(on_recv(donec, [](std::optional<char>) {}), on_timeout(300ns, [] {}));
  g2.join();
}

void bug() { inflight_stream_closing(false); }
void fix() { inflight_stream_closing(true); }

const ceramic::goker::Registration registered{{
    .name = "grpc_1275",
    .bug = bug,
    .fix = fix,
    .description = "closing a stream does not wake the goroutine blocked reading it",
}};

}  // namespace
