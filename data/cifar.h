// CIFAR-10's binary files (the "binary version": data_batch_1..5.bin, test_batch.bin).
//
// A file is records of 3073 bytes: 1 label byte, then 3072 pixel bytes, the
// 1024 red, then green, then blue values of a 32x32 image, rows first: exactly
// the CHW layout of a 3x32x32 sample, so a record copies without a transpose.
// A length that is not a whole number of records is an error naming the file
// and the offset where the partial record starts; so is a label >= `classes`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/data_file.h"
#include "data/raw_images.h"

namespace cudp {

constexpr int64_t kCifarRecordBytes = 1 + 3 * 32 * 32;

RawImages read_cifar10(const DataFile& file, int64_t classes);
// Several files, one after the other (data_batch_1.bin ... data_batch_5.bin).
RawImages read_cifar10_files(const std::vector<std::string>& paths, int64_t classes);

}  // namespace cudp
