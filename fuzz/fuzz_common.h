// What the fuzz targets share: the input as a DataFile, and the rule that a
// cudp::Error is the expected answer to a bad file (anything else escapes and
// is reported by libFuzzer).
#pragma once

#include <cstddef>
#include <cstdint>
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

template <class Body>
int expect_ok_or_error(Body&& body) {
  try {
    body();
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace cudp::fuzz
