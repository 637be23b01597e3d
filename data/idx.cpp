// IDX reader (see idx.h).
//
// Every size is checked before it is used: the header must fit the file, the
// product of the dimensions is computed with an overflow check, and the data
// must be exactly that many bytes. Only then are values copied.
#include "data/idx.h"

#include <cstdio>

#include "runtime/error.h"

namespace cudp {
namespace {

uint32_t load_be32(const std::string& bytes, uint64_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

std::string magic_meaning(uint32_t magic) {
  if (magic == kIdxImagesMagic) return "unsigned bytes, 3 dimensions: images";
  if (magic == kIdxLabelsMagic) return "unsigned bytes, 1 dimension: labels";
  if ((magic >> 16) != 0) return "not an IDX file";
  return concat("IDX type 0x", hex32(magic).substr(6, 2), ", ", magic & 0xFF, " dimensions");
}

}  // namespace

IdxArray parse_idx(const DataFile& file, uint32_t expected_magic) {
  const std::string& b = file.bytes;
  if (b.size() < 4)
    fail(file.path, ": ", b.size(), " bytes: too short for the 4-byte IDX magic (expected ",
         hex32(expected_magic), ")");
  const uint32_t magic = load_be32(b, 0);
  if (magic != expected_magic)
    fail(file.path, ": wrong magic at ", file.where(0), ": expected ", hex32(expected_magic), " (",
         magic_meaning(expected_magic), "), found ", hex32(magic), " (", magic_meaning(magic), ")");
  IdxArray a;
  const int rank = static_cast<int>(magic & 0xFF);
  a.data_offset = 4 + 4 * static_cast<uint64_t>(rank);
  if (b.size() < a.data_offset)
    fail(file.path, ": truncated header: ", rank, " dimensions need ", a.data_offset,
         " bytes of header, the file has ", b.size());
  uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    const uint32_t dim = load_be32(b, 4 + 4 * static_cast<uint64_t>(i));
    if (dim == 0) fail(file.path, ": dimension ", i, " at ", file.where(4 + 4 * i), " is 0");
    if (count > (uint64_t{1} << 40) / dim)
      fail(file.path, ": dimensions are absurdly large (dimension ", i, " is ", dim, ")");
    count *= dim;
    a.dims.push_back(dim);
  }
  const uint64_t have = b.size() - a.data_offset;
  if (have != count) {
    std::string sizes;
    for (int64_t d : a.dims) sizes += (sizes.empty() ? "" : " x ") + std::to_string(d);
    fail(file.path, ": the header promises ", sizes, " = ", count, " bytes of data from ",
         file.where(a.data_offset), ", found ", have,
         have < count ? " (truncated file?)" : " (trailing bytes)");
  }
  return a;
}

RawImages read_idx_images(const DataFile& images, const DataFile& labels, int64_t classes) {
  const IdxArray image_array = parse_idx(images, kIdxImagesMagic);
  const IdxArray label_array = parse_idx(labels, kIdxLabelsMagic);
  const int64_t n = image_array.dims[0];
  if (label_array.dims[0] != n)
    fail(labels.path, ": ", label_array.dims[0], " labels, but ", images.path, " has ", n,
         " images: expected one label per image");
  RawImages raw;
  raw.source = images.path + " + " + labels.path;
  raw.sample_shape = {1, image_array.dims[1], image_array.dims[2]};
  const char* pixels = images.bytes.data() + image_array.data_offset;
  raw.pixels.assign(pixels, pixels + n * image_array.dims[1] * image_array.dims[2]);
  raw.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t at = label_array.data_offset + static_cast<uint64_t>(i);
    const int label = static_cast<unsigned char>(labels.bytes[at]);
    if (label >= classes)
      fail(labels.path, ": label ", label, " of sample ", i, " at ", labels.where(at),
           ": expected a class in 0..", classes - 1);
    raw.labels[static_cast<size_t>(i)] = label;
  }
  return raw;
}

RawImages read_idx_images(const std::string& images_path, const std::string& labels_path,
                          int64_t classes) {
  return read_idx_images(read_data_file(images_path), read_data_file(labels_path), classes);
}

}  // namespace cudp
