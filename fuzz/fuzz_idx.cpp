// libFuzzer: the IDX reader on arbitrary bytes, as an images file (with a fixed
// valid labels file) and as a labels file (with fixed images). See CMakeLists.txt.
#include "data/idx.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cudp;
  const DataFile input = fuzz::as_file(data, size);
  // Two 2x2 images and their labels, for the other half of the pair.
  const uint8_t images[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
  const uint8_t labels[] = {0, 0, 8, 1, 0, 0, 0, 2, 3, 9};
  fuzz::expect_ok_or_error(
      [&] { read_idx_images(input, fuzz::as_file(labels, sizeof labels), 10); });
  fuzz::expect_ok_or_error(
      [&] { read_idx_images(fuzz::as_file(images, sizeof images), input, 10); });
  return 0;
}
