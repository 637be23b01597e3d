// What the fuzz targets share: the input as a DataFile, the rule that a
// cudp::Error is the expected answer to a bad input (anything else escapes and
// is reported by libFuzzer), and `expect`, a property check that aborts.
//
// The decision a reader would get wrong: CUDP_ASSERT throws a cudp::Error too,
// but an internal check that fails on some input is a bug, not a refusal, so
// expect_ok_or_error lets no InternalError pass. It goes by the type, never by
// the message: a refusal quotes the input, which may say "internal check failed".
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "data/data_file.h"
#include "runtime/error.h"

namespace cudp::fuzz {

inline DataFile as_file(const uint8_t* data, size_t size, bool gzipped = false) {
  DataFile f;
  f.path = "fuzz-input";
  f.bytes.assign(reinterpret_cast<const char*>(data), size);
  f.gzipped = gzipped;
  return f;
}

// A property of an accepted input that does not hold: print it, then abort so
// that libFuzzer saves the input as a crash.
#define CUDP_FUZZ_EXPECT(cond, ...)                                                     \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "fuzz: %s:%d: expected %s: %s\n", __FILE__, __LINE__, #cond, \
                   ::cudp::concat(__VA_ARGS__).c_str());                                \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

template <class Body>
int expect_ok_or_error(Body&& body) {
  try {
    body();
  } catch (const InternalError& e) {
    CUDP_FUZZ_EXPECT(false, "a refusal, not a broken invariant: ", e.what());
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace cudp::fuzz
