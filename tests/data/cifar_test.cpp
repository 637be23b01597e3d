// CIFAR-10 binary files: records read in CHW order with their labels, several
// files in order; partial records and bad labels refused with file and offset.
#include "data/cifar.h"

#include "tests/common/expect_error.h"
#include "tests/common/test_files.h"
#include "tests/data/make_files.h"

namespace cudp {
namespace {

using Cifar = test::ScratchFolder;

TEST_F(Cifar, ReadsRecordsAsChwSamples) {
  write_bytes(path("a.bin"), test::cifar_bytes(3));
  write_bytes(path("b.bin"), test::cifar_bytes(2, 3));
  const RawImages raw = read_cifar10_files({path("a.bin"), path("b.bin")}, 10);
  EXPECT_EQ(raw.sample_shape, (Shape{3, 32, 32}));
  ASSERT_EQ(raw.size(), 5);
  EXPECT_EQ(raw.pixels, test::sample_pixels(5, 3072));
  const auto labels = test::sample_labels(5);
  EXPECT_EQ(raw.labels, std::vector<int32_t>(labels.begin(), labels.end()));
}

TEST_F(Cifar, GzippedFileIsReadToo) {
  write_bytes(path("a.bin"), test::gzip_bytes(test::cifar_bytes(2)));
  EXPECT_EQ(read_cifar10_files({path("a.bin")}, 10).pixels, test::sample_pixels(2, 3072));
}

TEST_F(Cifar, PartialRecordNamesItsOffset) {
  write_bytes(path("a.bin"), test::cifar_bytes(3).substr(0, 2 * 3073 + 100));
  EXPECT_ERROR(read_cifar10_files({path("a.bin")}, 10), path("a.bin"),
               "6246 bytes is not a whole number of 3073-byte CIFAR-10 records",
               "2 records, then 100 bytes of a partial one at offset 6146", "truncated");
  write_bytes(path("empty.bin"), "");
  EXPECT_ERROR(read_cifar10_files({path("empty.bin")}, 10), "empty file");
}

TEST_F(Cifar, LabelOutOfRangeNamesRecordAndOffset) {
  std::string bytes = test::cifar_bytes(3);
  bytes[2 * 3073] = static_cast<char>(57);
  write_bytes(path("a.bin"), bytes);
  EXPECT_ERROR(read_cifar10_files({path("a.bin")}, 10), path("a.bin"),
               "label 57 of record 2 at offset 6146", "expected a class in 0..9");
}

TEST_F(Cifar, MissingFileIsNamed) {
  EXPECT_ERROR(read_cifar10_files({path("data_batch_1.bin")}, 10), path("data_batch_1.bin"),
               "no such file");
}

}  // namespace
}  // namespace cudp
