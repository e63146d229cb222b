// Renders DOT to SVG with Graphviz's `dot`, as a child process fed through pipes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "ceramic/detector/formats.hpp"

extern char** environ;

namespace ceramic::detector {
namespace {

constexpr auto kDotPatience = std::chrono::seconds(10);
constexpr std::size_t kMaxSvgBytes = 64u << 20;

struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

}  // namespace

std::optional<std::string> render_svg(const std::string& dot_source) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return std::nullopt;
  Fd in_r{in[0]}, in_w{in[1]};
  if (pipe2(out, O_CLOEXEC) != 0) return std::nullopt;
  Fd out_r{out[0]}, out_w{out[1]};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.fd, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  char arg0[] = "dot", arg1[] = "-Tsvg";
  char* argv[] = {arg0, arg1, nullptr};
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "dot", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return std::nullopt;
  in_r.reset();
  out_w.reset();
  fcntl(in_w.fd, F_SETFL, O_NONBLOCK);

  // Feed and drain at once: dot may start writing before it has read everything.
  std::string svg;
  std::size_t written = 0;
  const auto deadline = std::chrono::steady_clock::now() + kDotPatience;
  bool ok = true;
  while (out_r.fd >= 0) {
    if (written == dot_source.size()) in_w.reset();
    pollfd p[2] = {{out_r.fd, POLLIN, 0}, {in_w.fd, POLLOUT, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      ok = false;
      break;
    }
    int n = poll(p, in_w.fd >= 0 ? 2 : 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ok = false;
      break;
    }
    if (in_w.fd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(in_w.fd, dot_source.data() + written, dot_source.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) in_w.reset();  // dot stopped reading
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t r = read(out_r.fd, buf, sizeof buf);
      if (r > 0) svg.append(buf, static_cast<std::size_t>(r));
      if (r == 0) out_r.reset();
      if ((r < 0 && errno != EINTR && errno != EAGAIN) || svg.size() > kMaxSvgBytes) {
        ok = false;
        break;
      }
    }
  }
  in_w.reset();
  out_r.reset();
  if (!ok) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  // Keep the <svg> element alone: the XML declaration and DOCTYPE cannot sit inside HTML.
  auto start = svg.find("<svg");
  if (start == std::string::npos) return std::nullopt;
  return svg.substr(start);
}

}  // namespace ceramic::detector
