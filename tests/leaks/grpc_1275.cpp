// grpc_1275 -- Go's goroutine leak profile test Grpc1275 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/grpc1275.go; GoKer
// goker/blocking/grpc/1275, grpc/grpc-go PR 1275, fix 0669f3f).
//
// Shape: a test reads from a stream in a goroutine, closes the stream and waits for the reader
// with a timer. CloseStream() does not wake the reader blocked in recvBufferReader.Read(), so
// the timer fires, the test returns, and the reader stays blocked forever. Go expects the
// reader goroutine in "chan receive".
//
// Fix (upstream): closing the stream delivers a message to the stream's receive buffer, so the
// blocked Read returns.
//
// Adaptations: the timer (300 ns) is an on_timeout case; the receive buffer is a Chan<bool>,
// and the fix's message a send on it. The reader is a Proc nobody joins (go()); the test runs
// in main (Go runs it in a goroutine that returns: a Proc's children end with it).
#include <chrono>
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_timeout;
using ceramic::select;
using ceramic::leaks::go;

struct Stream {
  Chan<bool> recv_buffer;
  void read() {
    (void)recv_buffer.recv();  // @leak
  }
};

void close_stream(Stream& s, bool fixed) {
  if (fixed) s.recv_buffer.send(true);   // the message that wakes a blocked Read
}

void test_inflight_stream_closing(bool fixed) {
  Stream stream;
  Chan<char> donec;
  go("reader", [&] {
    stream.read();
    donec.close();
  });
  close_stream(stream, fixed);
  select(on_recv(donec, [](std::optional<char>) {}), on_timeout(300ns, [] {}));
}

void bug() { test_inflight_stream_closing(false); }
void fix() { test_inflight_stream_closing(true); }

const ceramic::leaks::Registration registered{{
    .name = "grpc_1275",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .description = "closing a stream does not wake its blocked reader",
}};

}  // namespace
