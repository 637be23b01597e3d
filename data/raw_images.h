// Labelled 8-bit images as dataset files store them, and their conversion to a
// training Dataset (float32, normalised).
//
// Normalisation is torchvision's ToTensor then Normalize, in the same float32
// operations so that a PyTorch run sees bitwise the same inputs:
//   x = float(pixel) / 255;  x = (x - mean[c]) / std[c]
// mean and std hold one value (every channel) or one per channel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cudp {

struct RawImages {
  std::string source;           // the file(s) they came from, for errors
  Shape sample_shape;           // {C, H, W}
  std::vector<uint8_t> pixels;  // size() * C*H*W bytes, CHW per sample
  std::vector<int32_t> labels;  // each in [0, classes)

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

struct Normalization {
  std::vector<float> mean{0.0f}, std{1.0f};
  std::string str() const;  // "mean 0 std 1", "mean 0.49,0.48,0.45 std ..."
};
// Refuses a count that is neither 1 nor `channels`, and a std that is not > 0.
void check_normalization(const Normalization& norm, int64_t channels);

// Samples [first, first + count) of `raw` as a Dataset (count < 0: to the end).
Dataset to_dataset(const RawImages& raw, const std::string& name, const Normalization& norm,
                   int64_t classes, int64_t first = 0, int64_t count = -1);

}  // namespace cudp
