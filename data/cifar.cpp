// CIFAR-10 binary reader (see cifar.h).
#include "data/cifar.h"

#include <algorithm>

#include "runtime/error.h"

namespace cudp {

RawImages read_cifar10(const DataFile& file, int64_t classes) {
  const auto size = static_cast<int64_t>(file.bytes.size());
  if (size == 0)
    fail(file.path, ": empty file: expected records of ", kCifarRecordBytes,
         " bytes (1 label + 3x32x32 pixels)");
  const int64_t records = size / kCifarRecordBytes;
  if (size % kCifarRecordBytes != 0)
    fail(file.path, ": ", size, " bytes is not a whole number of ", kCifarRecordBytes,
         "-byte CIFAR-10 records: ", records, " records, then ", size % kCifarRecordBytes,
         " bytes of a partial one at ",
         file.where(static_cast<uint64_t>(records * kCifarRecordBytes)), " (truncated file?)");
  RawImages raw;
  raw.source = file.path;
  raw.sample_shape = {3, 32, 32};
  raw.pixels.resize(static_cast<size_t>(records * (kCifarRecordBytes - 1)));
  raw.labels.resize(static_cast<size_t>(records));
  for (int64_t i = 0; i < records; ++i) {
    const char* record = file.bytes.data() + i * kCifarRecordBytes;
    const int label = static_cast<unsigned char>(record[0]);
    if (label >= classes)
      fail(file.path, ": label ", label, " of record ", i, " at ",
           file.where(static_cast<uint64_t>(i * kCifarRecordBytes)), ": expected a class in 0..",
           classes - 1, " (is this a CIFAR-10 binary file? CIFAR-100's records differ)");
    raw.labels[static_cast<size_t>(i)] = label;
    std::copy(record + 1, record + kCifarRecordBytes,
              raw.pixels.begin() + i * (kCifarRecordBytes - 1));
  }
  return raw;
}

RawImages read_cifar10_files(const std::vector<std::string>& paths, int64_t classes) {
  RawImages all;
  for (const std::string& path : paths) {
    RawImages part = read_cifar10(read_data_file(path), classes);
    if (all.labels.empty()) {
      all = std::move(part);
      continue;
    }
    all.source += " + " + part.source;
    all.pixels.insert(all.pixels.end(), part.pixels.begin(), part.pixels.end());
    all.labels.insert(all.labels.end(), part.labels.begin(), part.labels.end());
  }
  return all;
}

}  // namespace cudp
