// IDX files, the format of MNIST and Fashion-MNIST (gzipped or not).
//
// Layout: a 4-byte magic 00 00 TT DD (TT = 08: unsigned bytes, DD = the number
// of dimensions), DD big-endian uint32 sizes, then the values, last dimension
// fastest. Images are magic 0x00000803 [N, H, W]; labels 0x00000801 [N]. The
// reader refuses every other magic, a size product that disagrees with the
// file's length (short OR long), and a label >= `classes`, naming the file and
// the offset.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/data_file.h"
#include "data/raw_images.h"

namespace cudp {

constexpr uint32_t kIdxImagesMagic = 0x00000803;
constexpr uint32_t kIdxLabelsMagic = 0x00000801;

struct IdxArray {
  std::vector<int64_t> dims;
  uint64_t data_offset = 0;  // where the values start in the (unpacked) bytes
};

// Checks the header of `file` against `expected_magic` and the data length.
IdxArray parse_idx(const DataFile& file, uint32_t expected_magic);

// An images file and its labels file as 1xHxW images; counts must agree.
RawImages read_idx_images(const DataFile& images, const DataFile& labels, int64_t classes);
RawImages read_idx_images(const std::string& images_path, const std::string& labels_path,
                          int64_t classes);

}  // namespace cudp
