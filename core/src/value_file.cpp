#include "value_file.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "ceramic/status.hpp"

namespace ceramic::detail {

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

std::uint64_t parked_offset(Region& r, std::uint64_t ref, std::size_t len) {
  if (r.value_fd() < 0) corrupt("parked value in a channel without a value file");
  std::uint64_t off = ref - 1;
  if (ref == 0 || off > kMaxParkOffset || len > kMaxValueBytes) {
    corrupt("parked value reference out of range");
  }
  return r.geo().total + off;
}

void drop_parked(Region& r, std::uint64_t ref, std::size_t len) noexcept {
  if (ref == 0 || r.value_fd() < 0) return;
  try {
    park_release(r.value_fd(), parked_offset(r, ref, len), len);
  } catch (const ChannelError&) {
    // a corrupt reference: nothing of ours to release
  }
}

}  // namespace ceramic::detail
