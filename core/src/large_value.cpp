#include "large_value.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "ceramic/status.hpp"
#include "wait.hpp"

namespace ceramic::detail {

PullResult pull_value(pid_t pid, std::uint64_t addr, std::size_t len, void* dst) noexcept {
  if (pid == self_pid()) {
    std::memcpy(dst, reinterpret_cast<const void*>(addr), len);
    return PullResult::ok;
  }
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t done = 0;
  while (done < len) {
    iovec local{out + done, len - done};
    iovec remote{reinterpret_cast<void*>(addr + done), len - done};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EPERM || errno == ENOSYS)) return PullResult::no_permission;
    return PullResult::source_gone;  // ESRCH, EFAULT: the sender died or its memory went away
  }
  return PullResult::ok;
}

void park_write(int fd, std::uint64_t file_off, const void* data, std::size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, p + done, len - done, static_cast<off_t>(file_off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      park_release(fd, file_off, len);
      throw ChannelError(std::string("ceramic: cannot park a ") + std::to_string(len) +
                         "-byte value in the channel: " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
}

bool park_read(int fd, std::uint64_t file_off, std::size_t len, void* dst) noexcept {
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, out + done, len - done, static_cast<off_t>(file_off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void park_release(int fd, std::uint64_t file_off, std::size_t len) noexcept {
  std::uint64_t span = (len + kParkAlign - 1) / kParkAlign * kParkAlign;
  fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(file_off),
            static_cast<off_t>(span));
}

std::string spill_name(std::uint64_t channel_id, std::uint64_t seq) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "/ceramic-spill.%016llx.%llu",
                static_cast<unsigned long long>(channel_id), static_cast<unsigned long long>(seq));
  return buf;
}

void spill_write(const std::string& name, const void* data, std::size_t len) {
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw ChannelError("ceramic: cannot create " + name + ": " + std::strerror(errno));
  auto fail = [&](const char* what) {
    int err = errno;
    close(fd);
    shm_unlink(name.c_str());
    throw ChannelError(std::string("ceramic: cannot ") + what + " " + name + ": " +
                       std::strerror(err));
  };
  if (ftruncate(fd, static_cast<off_t>(len)) != 0) fail("size");
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, p + done, len - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write");
    done += static_cast<std::size_t>(n);
  }
  close(fd);
}

bool spill_read(const std::string& name, std::size_t len, void* dst) noexcept {
  int fd = shm_open(name.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = fstat(fd, &st) == 0 && static_cast<std::size_t>(st.st_size) == len;
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t done = 0;
  while (ok && done < len) {
    ssize_t n = pread(fd, out + done, len - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else done += static_cast<std::size_t>(n);
  }
  close(fd);
  shm_unlink(name.c_str());
  return ok;
}

void spill_discard(const std::string& name) noexcept { shm_unlink(name.c_str()); }

}  // namespace ceramic::detail
