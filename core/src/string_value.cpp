// Compiled as C++23 where the compiler and its standard library offer
// std::string::resize_and_overwrite (core/CMakeLists.txt), whatever the standard of the rest of
// the library and of its callers: libstdc++ gives std::string one layout and one ABI in every
// standard, so a string made by a C++20 caller is grown here in place.
#include "ceramic/detail/string_value.hpp"

#include <sys/mman.h>

#include <cstdint>

namespace ceramic::detail {

namespace {

constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;

// Asks for transparent huge pages on the 2 MiB-aligned stretches that lie wholly inside
// [p, p + len), memory just allocated and not yet touched. Why: a received value is often sent
// on, and a receiver in another process reads it with process_vm_readv, which pins the source
// page by page; from 2 MiB pages a 16 MiB read took 1.0 ms of the receiver's CPU on the
// development VM, from 4 KiB pages 2.7 ms (the destination's page size made no difference).
// Only whole stretches inside the buffer, so the string never holds memory it did not ask
// for. Advice only: failure (no THP, "never" policy) changes nothing.
void advise_huge_pages(char* p, std::size_t len) noexcept {
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + kHugePage - 1) & ~(kHugePage - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + len) & ~(kHugePage - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace

char* string_for_overwrite(std::string& out, std::size_t len) {
#if defined(__cpp_lib_string_resize_and_overwrite)
  // The receive writes every byte of [0, len) before anyone reads them. The new length is len,
  // not the operation's second argument: libstdc++ 12 passes the grown capacity there (a
  // 16-byte request on an empty string became 30 bytes long).
  const auto all_written = [len](char*, std::size_t) noexcept { return len; };
  if (len > out.capacity()) {
    // A new buffer, without copying the old bytes into it (resize_and_overwrite keeps them),
    // and out unchanged if there is no memory for it.
    std::string fresh;
    fresh.resize_and_overwrite(len, all_written);
    if (len >= 2 * kHugePage) advise_huge_pages(fresh.data(), len);
    out.swap(fresh);
    return out.data();
  }
  if (len > out.size()) {
    out.resize_and_overwrite(len, all_written);
    return out.data();
  }
#endif
  out.resize(len);
  return out.data();
}

}  // namespace ceramic::detail
