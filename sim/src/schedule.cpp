#include "schedule.hpp"

#include <cctype>

namespace ceramic::sim::detail {
namespace {

constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::uint32_t kBase = 62;
constexpr std::uint32_t kMaxNumber = 1u << 24;  // far more choices than any schedule has

void put(std::string& out, std::uint32_t v) {
  if (v < kBase) {
    out += kDigits[v];
  } else {
    out += '{';
    out += std::to_string(v);
    out += '}';
  }
}

int digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  if (c >= 'a' && c <= 'z') return c - 'a' + 36;
  return -1;
}

// Reads one number at s[*pos]; false with *error set if there is none.
bool get(std::string_view s, std::size_t* pos, std::uint32_t* v, std::string* error,
         std::uint64_t max = kMaxNumber) {
  if (*pos >= s.size()) {
    *error = "unexpected end at character " + std::to_string(*pos + 1);
    return false;
  }
  char c = s[*pos];
  if (c == '{') {
    std::size_t end = s.find('}', *pos);
    if (end == std::string_view::npos || end == *pos + 1 || end - *pos > 11) {
      *error = "bad {number} at character " + std::to_string(*pos + 1);
      return false;
    }
    std::uint64_t n = 0;
    for (std::size_t i = *pos + 1; i < end; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
        *error = "bad {number} at character " + std::to_string(*pos + 1);
        return false;
      }
      n = n * 10 + static_cast<std::uint64_t>(s[i] - '0');
    }
    if (n < kBase || n > max) {
      *error = "out-of-range {number} at character " + std::to_string(*pos + 1);
      return false;
    }
    *v = static_cast<std::uint32_t>(n);
    *pos = end + 1;
    return true;
  }
  int d = digit(c);
  if (d < 0) {
    *error = std::string("unexpected character '") + c + "' at character " +
             std::to_string(*pos + 1);
    return false;
  }
  *v = static_cast<std::uint32_t>(d);
  ++*pos;
  return true;
}

}  // namespace

std::string encode(const Schedule& s) {
  std::string out = "cs2";
  if (s.unbuffered) out += 'u';
  if (s.idle_timeouts) out += 'i';
  if (s.fairness != kDefaultFairness) {
    out += 'f';
    put(out, s.fairness);
  }
  if (s.step_limit != 0) {
    out += 's';
    put(out, s.step_limit);
  }
  out += ':';
  for (const Choice& c : s.choices) {
    put(out, c.index);
    put(out, c.count);
  }
  return out;
}

std::optional<Schedule> decode(std::string_view s, std::string* error) {
  // Tolerate what copy-and-paste adds around a schedule: blanks and quotes.
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.front())) || s.front() == '\'' ||
                        s.front() == '"')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '\'' ||
                        s.back() == '"')) {
    s.remove_suffix(1);
  }
  if (s.substr(0, 2) != "cs") {
    *error = "not a ceramic schedule (it starts with \"cs\", e.g. cs2:0213)";
    return std::nullopt;
  }
  std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) {
    *error = "no ':' after the version";
    return std::nullopt;
  }
  std::string_view head = s.substr(2, colon - 2);
  std::size_t v = 0;
  while (v < head.size() && std::isdigit(static_cast<unsigned char>(head[v]))) ++v;
  if (v == 0) {
    *error = "no version number after \"cs\"";
    return std::nullopt;
  }
  if (head.substr(0, v) == "1") {
    *error = "schedule version 1 was made by an earlier model of the program (before lazy "
             "arrival and timeouts at any time) and means other steps today: explore again";
    return std::nullopt;
  }
  if (head.substr(0, v) != "2") {
    *error = "schedule version " + std::string(head.substr(0, v)) +
             " is not supported (this ceramic reads version 2)";
    return std::nullopt;
  }
  Schedule out;
  std::string_view flags = head.substr(v);
  std::size_t f = 0;
  if (f < flags.size() && flags[f] == 'u') {
    out.unbuffered = true;
    ++f;
  }
  if (f < flags.size() && flags[f] == 'i') {
    out.idle_timeouts = true;
    ++f;
  }
  if (f < flags.size() && flags[f] == 'f') {
    ++f;
    std::size_t at = f;
    if (!get(flags, &at, &out.fairness, error, UINT32_MAX)) {
      *error = "bad fairness bound after 'f' in the flags (a number, e.g. cs2f{500}:)";
      return std::nullopt;
    }
    f = at;
  }
  if (f < flags.size() && flags[f] == 's') {
    ++f;
    std::size_t at = f;
    if (!get(flags, &at, &out.step_limit, error, UINT32_MAX) || out.step_limit == 0) {
      *error = "bad step bound after 's' in the flags (a number of at least 1, e.g. cs2s{500}:)";
      return std::nullopt;
    }
    f = at;
  }
  if (f < flags.size()) {
    *error = std::string("unknown flag '") + flags[f] + "' (flags are u, i, f<number>, s<number>, in that order)";
    return std::nullopt;
  }
  std::size_t pos = colon + 1;
  while (pos < s.size()) {
    Choice c;
    if (!get(s, &pos, &c.index, error) || !get(s, &pos, &c.count, error)) return std::nullopt;
    if (c.count < 2 || c.index >= c.count) {
      *error = "choice " + std::to_string(out.choices.size() + 1) + " takes transition " +
               std::to_string(c.index) + " of " + std::to_string(c.count) +
               ": every choice is an index below a count of at least 2";
      return std::nullopt;
    }
    out.choices.push_back(c);
  }
  return out;
}

}  // namespace ceramic::sim::detail
