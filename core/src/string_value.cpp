// Compiled as C++23 where the compiler and its standard library offer
// std::string::resize_and_overwrite (core/CMakeLists.txt), whatever the standard of the rest of
// the library and of its callers: libstdc++ gives std::string one layout and one ABI in every
// standard, so a string made by a C++20 caller is grown here in place.
#include "ceramic/detail/string_value.hpp"

namespace ceramic::detail {

char* string_for_overwrite(std::string& out, std::size_t len) {
#if defined(__cpp_lib_string_resize_and_overwrite)
  if (len > out.size()) {
    // The receive writes every byte of [old size, len) before anyone reads them. The new
    // length is len, not the operation's second argument: libstdc++ 12 passes the grown
    // capacity there (a 16-byte request on an empty string became 30 bytes long).
    out.resize_and_overwrite(len, [len](char*, std::size_t) noexcept { return len; });
    return out.data();
  }
#endif
  out.resize(len);
  return out.data();
}

}  // namespace ceramic::detail
