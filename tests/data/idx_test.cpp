// IDX and gzip: files read back exactly, plain and gzipped; every kind of bad
// file is refused with a message that names the file, the offset, what was
// expected and what was found (these run under ASan in CI: no bad read either).
#include "data/idx.h"

#include "tests/common/expect_error.h"
#include "tests/common/test_files.h"
#include "tests/data/make_files.h"

namespace cudp {
namespace {

class Idx : public test::ScratchFolder {
 protected:
  // Writes images + labels (gzipped if asked) and reads them back.
  RawImages round_trip(const std::string& images, const std::string& labels, bool gzipped,
                       int64_t classes = 10) {
    const std::string ip = path(gzipped ? "images.gz" : "images");
    const std::string lp = path(gzipped ? "labels.gz" : "labels");
    write_bytes(ip, gzipped ? test::gzip_bytes(images) : images);
    write_bytes(lp, gzipped ? test::gzip_bytes(labels) : labels);
    return read_idx_images(ip, lp, classes);
  }
  const std::string images5 = test::idx_bytes(0x803, {5, 4, 3}, test::sample_pixels(5, 12));
  const std::string labels5 = test::idx_bytes(0x801, {5}, test::sample_labels(5));
};

TEST_F(Idx, ReadsPlainAndGzippedFilesExactly) {
  for (bool gzipped : {false, true}) {
    SCOPED_TRACE(gzipped ? "gzipped" : "plain");
    const RawImages raw = round_trip(images5, labels5, gzipped);
    EXPECT_EQ(raw.sample_shape, (Shape{1, 4, 3}));
    ASSERT_EQ(raw.size(), 5);
    EXPECT_EQ(raw.pixels, test::sample_pixels(5, 12));
    const auto labels = test::sample_labels(5);
    EXPECT_EQ(raw.labels, std::vector<int32_t>(labels.begin(), labels.end()));
  }
}

TEST_F(Idx, ConcatenatedGzipMembersAreOneStream) {
  const std::string ip = path("images.gz"), lp = path("labels.gz");
  write_bytes(ip, test::gzip_bytes(images5.substr(0, 10)) + test::gzip_bytes(images5.substr(10)));
  write_bytes(lp, test::gzip_bytes(labels5));
  EXPECT_EQ(read_idx_images(ip, lp, 10).pixels, test::sample_pixels(5, 12));
}

TEST_F(Idx, WrongMagicNamesBothMagics) {
  // A labels file given as images: the message says what each magic means.
  EXPECT_ERROR(round_trip(labels5, labels5, false), path("images"), "wrong magic at offset 0",
               "expected 0x00000803", "found 0x00000801", "labels");
  EXPECT_ERROR(round_trip("PK\x03\x04 a zip, not IDX", labels5, false), "not an IDX file");
  EXPECT_ERROR(
      round_trip(test::idx_bytes(0x80D, {5, 4, 3}, test::sample_pixels(5, 12)), labels5, true),
      "expected 0x00000803", "found 0x0000080D", "of the unpacked data");
}

TEST_F(Idx, TruncatedOrOverlongFilesAreRefused) {
  EXPECT_ERROR(round_trip(images5.substr(0, 3), labels5, false), "3 bytes",
               "too short for the 4-byte IDX magic");
  EXPECT_ERROR(round_trip(images5.substr(0, 10), labels5, false), "truncated header",
               "3 dimensions need 16 bytes of header, the file has 10");
  EXPECT_ERROR(round_trip(images5.substr(0, images5.size() - 1), labels5, false),
               "promises 5 x 4 x 3 = 60 bytes of data from offset 16, found 59", "truncated file?");
  EXPECT_ERROR(round_trip(images5 + "x", labels5, true), "found 61", "trailing bytes",
               "of the unpacked data");
}

TEST_F(Idx, HeaderThatPointsPastTheEndIsRefused) {
  // Dimensions that promise 4 GiB in a 16-byte file: refused before any allocation.
  EXPECT_ERROR(round_trip(test::idx_bytes(0x803, {0xFFFFFFFF, 0xFFFF, 0xFFFF}, {}), labels5, false),
               "absurdly large");
  EXPECT_ERROR(round_trip(test::idx_bytes(0x803, {60000, 28, 28}, {1, 2, 3}), labels5, false),
               "47040000 bytes", "found 3");
  EXPECT_ERROR(round_trip(test::idx_bytes(0x803, {5, 0, 3}, {}), labels5, false),
               "dimension 1 at offset 8 is 0");
}

TEST_F(Idx, LabelOutOfRangeNamesSampleAndOffset) {
  std::vector<uint8_t> labels = test::sample_labels(5);
  labels[3] = 10;
  EXPECT_ERROR(round_trip(images5, test::idx_bytes(0x801, {5}, labels), false), path("labels"),
               "label 10 of sample 3 at offset 11", "expected a class in 0..9");
  // The same file is fine for a model with 11 classes.
  EXPECT_EQ(round_trip(images5, test::idx_bytes(0x801, {5}, labels), false, 11).labels[3], 10);
}

TEST_F(Idx, ImageAndLabelCountsMustAgree) {
  EXPECT_ERROR(round_trip(images5, test::idx_bytes(0x801, {4}, test::sample_labels(4)), false),
               "4 labels, but", "has 5 images");
}

TEST_F(Idx, TruncatedGzipIsRefused) {
  const std::string packed = test::gzip_bytes(images5);
  for (size_t keep :
       {size_t{2}, size_t{10}, packed.size() / 2, packed.size() - 4, packed.size() - 1}) {
    SCOPED_TRACE(keep);
    write_bytes(path("images.gz"), packed.substr(0, keep));
    EXPECT_ERROR(read_data_file(path("images.gz")), path("images.gz"), "truncated gzip file");
  }
}

TEST_F(Idx, CorruptGzipIsRefused) {
  std::string packed = test::gzip_bytes(images5);
  std::string flipped = packed;
  flipped[packed.size() - 6] ^= 0x55;  // inside the CRC-32 trailer
  write_bytes(path("crc.gz"), flipped);
  EXPECT_ERROR(read_data_file(path("crc.gz")), path("crc.gz"), "corrupt gzip data near offset",
               "incorrect data check");
  std::string bad_method = packed;
  bad_method[2] = 7;  // compression method 7 is not deflate
  write_bytes(path("method.gz"), bad_method);
  EXPECT_ERROR(read_data_file(path("method.gz")), "corrupt gzip data",
               "unknown compression method");
  write_bytes(path("junk.gz"), packed + "junk");
  EXPECT_ERROR(read_data_file(path("junk.gz")), "4 bytes after the end of the gzip stream",
               "expected another gzip member");
}

TEST_F(Idx, GzipBombIsCappedBeforeItIsUnpacked) {
  write_bytes(path("big.gz"), test::gzip_bytes(std::string(1 << 20, '\0')));
  EXPECT_ERROR(read_data_file(path("big.gz"), 1000), "unpacks to more than 1000 bytes");
  EXPECT_EQ(read_data_file(path("big.gz"), 1 << 20).bytes.size(), size_t{1} << 20);
}

TEST_F(Idx, MissingFileOrFolderIsNamed) {
  EXPECT_ERROR(read_data_file(path("nothing")), path("nothing"), "no such file");
  EXPECT_ERROR(read_data_file(folder_.string()), "is a folder");
}

}  // namespace
}  // namespace cudp
