// safetensors files: cudp's own reader and writer (float32 tensors only).
//
// Layout: 8-byte little-endian header length L, then L bytes of JSON
//   {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [..],
//    "data_offsets": [begin, end]}, ...}
// then the data, offsets relative to the end of the header. The reader checks
// everything (length, JSON, dtype, offsets inside the file, shape x 4 == bytes,
// no overlaps) and names the file and what was wrong. The writer writes a temp
// file, fsyncs it and renames it over PATH: a file is written whole or not at all.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/shape.h"

namespace cudp {

struct NamedTensor {
  std::string name;
  Shape shape;
  std::vector<float> values;
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  std::vector<NamedTensor> tensors;  // in file order of data offsets
  const NamedTensor* find(const std::string& name) const;
};

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
SafetensorsFile read_safetensors(const std::string& path);
// The same checks on bytes in memory; `path` names them in errors (fuzz/ drives this).
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& path);

// Writes a file atomically: temp name in the same folder, fsync, rename.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace cudp
