// ceramic — sizing a std::string for a value about to be written into it. Internal API: may
// change without notice.
#pragma once

#include <cstddef>
#include <string>

namespace ceramic::detail {

// Makes out exactly len bytes long and returns its data, for a receive that is about to write
// all len bytes. Growing leaves the new bytes unwritten (no zero-fill of up to max_value_bytes
// that the copy then overwrites) where the library was built with a standard library that has
// std::string::resize_and_overwrite; the caller's own -std does not matter, because this is
// compiled once, in the library (core/src/string_value.cpp). Growing past the capacity takes
// a new buffer without copying the old bytes, and asks for transparent huge pages on the
// 2 MiB stretches inside it (if it is 4 MiB or longer): the value is then cheaper to read for
// a process it is sent to next. Shrinking and staying cost nothing. Throws what std::string
// throws when it cannot grow (std::bad_alloc, std::length_error); out is then unchanged.
char* string_for_overwrite(std::string& out, std::size_t len);

}  // namespace ceramic::detail
