// Dataset files as bytes in memory: read whole, gunzipped when gzipped.
//
// A data file is small enough to hold (Fashion-MNIST's largest is 47 MB
// unpacked, CIFAR-10's 30 MB), so the parsers work on one in-memory buffer and
// check every offset against its size: a short or lying file is an error, never
// an out-of-bounds read. gzip is recognised by its magic (1f 8b), not by the
// name: Debian ships `.gz` files, other mirrors the unpacked ones. Concatenated
// gzip members are one stream, as gzip(1) treats them.
#pragma once

#include <cstdint>
#include <string>

namespace cudp {

struct DataFile {
  std::string path;
  std::string bytes;     // the unpacked contents
  bool gzipped = false;  // offsets in errors are then offsets in the unpacked data
  // "offset 16" or "offset 16 of the unpacked data", for error messages.
  std::string where(uint64_t offset) const;
};

// Reads `path`, unpacking gzip; throws cudp::Error naming the file on any problem.
DataFile read_data_file(const std::string& path, uint64_t max_unpacked_bytes = uint64_t{1} << 30);

// Unpacks gzip `packed`; `where` names it in errors (truncated stream, corrupt
// data with its offset, trailing bytes, more than `max_unpacked_bytes`).
std::string gunzip(const std::string& packed, const std::string& where,
                   uint64_t max_unpacked_bytes = uint64_t{1} << 30);
bool has_gzip_magic(const std::string& bytes);

}  // namespace cudp
