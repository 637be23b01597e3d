// cudp::Error and the checks that throw it.
//
// Every error says what was expected, what was found, and where (layer, file,
// offset, flag). `fail(...)` streams its arguments into one message, so call
// sites read like the sentence the user will see:
//   fail("fc1: expected ", 4096, " input features, found ", 65536);
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace cudp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(concat(parts...));
}

}  // namespace cudp

// Internal invariant with the source location; user-facing checks call fail().
#define CUDP_ASSERT(cond)                                                                 \
  do {                                                                                    \
    if (!(cond)) ::cudp::fail(__FILE__, ":", __LINE__, ": internal check failed: " #cond); \
  } while (0)
