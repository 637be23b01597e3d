// --data: parsing, loading generated MNIST-style and CIFAR-10 folders into
// normalised Datasets, subsets, and the errors for a missing folder, a missing
// file, a bad normalisation and images that do not fit the model.
#include "data/sources.h"

#include <cmath>

#include "tests/common/expect_error.h"
#include "tests/common/test_files.h"
#include "tests/data/make_files.h"

namespace cudp {
namespace {

using Sources = test::ScratchFolder;

TEST(DataSource, ParsesEveryForm) {
  EXPECT_EQ(parse_data_source("synthetic").str(), "synthetic");
  EXPECT_FALSE(parse_data_source("random").from_files());
  EXPECT_EQ(parse_data_source("fashion-mnist").folder, kFashionMnistFolder);
  EXPECT_EQ(parse_data_source("fashion-mnist:/d").folder, "/d");
  EXPECT_EQ(parse_data_source("mnist:rel/dir").str(), "mnist:rel/dir");
  EXPECT_EQ(parse_data_source("cifar10:/c:x").folder, "/c:x");  // only the first colon splits
}

TEST(DataSource, RefusesBadForms) {
  // The library's parameter is "data"; cudp prints it as --data (tests/apps).
  EXPECT_PARAMETER_ERROR(parse_data_source("imagenet"), "data",
                         "data: expected synthetic, random, fashion-mnist", "found 'imagenet'");
  EXPECT_PARAMETER_ERROR(parse_data_source("mnist"), "data", "data mnist: expected mnist:DIR");
  EXPECT_PARAMETER_ERROR(parse_data_source("cifar10:"), "data",
                         "data: expected a folder after 'cifar10:'");
  EXPECT_PARAMETER_ERROR(parse_data_source("synthetic:/x"), "data",
                         "data: synthetic is generated and takes no folder");
}

TEST_F(Sources, MissingFolderNamesTheDebianPackage) {
  EXPECT_ERROR(load_file_data(parse_data_source("fashion-mnist:" + path("none")), {}), path("none"),
               "does not exist", "apt-get install dataset-fashion-mnist");
  EXPECT_PARAMETER_ERROR(load_file_data(parse_data_source("mnist:" + path("none")), {}), "data",
                         "data mnist:" + path("none") + ": the folder", "does not exist");
}

TEST_F(Sources, MissingFileNamesBothNamesTried) {
  test::write_idx_folder(folder_ / "m", 4, 2);
  std::filesystem::remove(folder_ / "m" / "t10k-labels-idx1-ubyte.gz");
  EXPECT_PARAMETER_ERROR(load_file_data(parse_data_source("mnist:" + path("m")), {}), "data",
                         "data mnist:" + path("m") + ": expected ", "t10k-labels-idx1-ubyte or ",
                         "t10k-labels-idx1-ubyte.gz, found neither");
  test::write_cifar_folder(folder_ / "c", 2, 2);
  std::filesystem::remove(folder_ / "c" / "data_batch_4.bin");
  EXPECT_PARAMETER_ERROR(load_file_data(parse_data_source("cifar10:" + path("c")), {}), "data",
                         "data cifar10:" + path("c") + ": expected the CIFAR-10 binary file",
                         "data_batch_4.bin, found none");
}

TEST_F(Sources, LoadsAnIdxFolderNormalised) {
  test::write_idx_folder(folder_ / "m", 6, 3, 28, 28, /*gzipped=*/false);
  FileDataOptions options;
  options.norm = {{0.5f}, {0.25f}};
  const DataSplit split = load_file_data(parse_data_source("mnist:" + path("m")), options);
  EXPECT_EQ(split.train.sample_shape, (Shape{1, 28, 28}));
  ASSERT_EQ(split.train.size(), 6);
  ASSERT_EQ(split.test.size(), 3);
  // torchvision: x = p / 255 (float32), then (x - mean) / std, in float32.
  for (int64_t s : {0, 5})
    for (int64_t j : {0, 100, 783}) {
      const float x = static_cast<float>(test::pixel_value(s, j)) / 255.0f;
      EXPECT_EQ(split.train.images[static_cast<size_t>(s * 784 + j)], (x - 0.5f) / 0.25f);
    }
  EXPECT_EQ(split.test.labels[2], test::sample_labels(3)[2]);
}

TEST_F(Sources, LoadsACifarFolderOrItsTarballSubfolder) {
  test::write_cifar_folder(folder_ / "c" / "cifar-10-batches-bin", 2, 3);
  FileDataOptions options;
  options.norm = {{0.0f, 0.5f, 1.0f}, {1.0f, 2.0f, 4.0f}};
  options.train_limit = 7;
  options.test_limit = 100;  // more than there are: all of them
  const DataSplit split = load_file_data(parse_data_source("cifar10:" + path("c")), options);
  EXPECT_EQ(split.train.sample_shape, (Shape{3, 32, 32}));
  EXPECT_EQ(split.train.size(), 7);  // the first 7 of 10, in file order
  EXPECT_EQ(split.test.size(), 3);
  const int64_t s = 6, j = 2 * 1024 + 5;  // batch 4's first sample, blue channel
  const float x = static_cast<float>(test::pixel_value(s, j)) / 255.0f;
  EXPECT_EQ(split.train.images[static_cast<size_t>(s * 3072 + j)], (x - 1.0f) / 4.0f);
  EXPECT_EQ(split.train.labels[6], test::sample_labels(7)[6]);
}

TEST_F(Sources, TrainAndTestShapesMustAgree) {
  test::write_idx_folder(folder_ / "m", 4, 2);
  test::write_file(folder_ / "m" / "t10k-images-idx3-ubyte.gz",
                   test::gzip_bytes(test::idx_bytes(0x803, {2, 8, 8}, test::sample_pixels(2, 64))));
  EXPECT_PARAMETER_ERROR(
      load_file_data(parse_data_source("mnist:" + path("m")), {}), "data",
      "data mnist:" + path("m") + ": training images are 1x28x28 but test images are 1x8x8");
}

TEST(Normalization, RefusesWrongCountsAndNonPositiveStd) {
  EXPECT_NO_THROW(check_normalization({{0.5f}, {0.2f, 0.3f, 0.4f}}, 3));
  EXPECT_PARAMETER_ERROR(check_normalization({{0.1f, 0.2f}, {1.0f}}, 3), "mean",
                         "mean: expected 1 value or 3 (one per channel of the images), found 2");
  EXPECT_PARAMETER_ERROR(check_normalization({{0.0f}, {0.0f}}, 1), "std",
                         "std: expected positive finite");
  EXPECT_PARAMETER_ERROR(check_normalization({{NAN}, {1.0f}}, 1), "mean", "mean: expected finite");
}

TEST(CheckInputMatches, NamesBothShapes) {
  Dataset d;
  d.sample_shape = {1, 28, 28};
  EXPECT_NO_THROW(check_input_matches(d, {1, 28, 28}, "seed-pool", "--data fashion-mnist"));
  EXPECT_ERROR(check_input_matches(d, {3, 32, 32}, "seed-pool", "--data fashion-mnist"),
               "--data fashion-mnist: the images are 1x28x28 but model seed-pool was built for "
               "3x32x32 inputs");
}

}  // namespace
}  // namespace cudp
