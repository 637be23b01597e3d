// Datasets in host memory, and the batches cut from them.
//
// Images are float32 CHW samples stored back to back; labels are int32 class
// ids. An epoch visits every sample once, in an order shuffled from
// (seed, epoch) so that a run is reproducible whatever happened before; the
// last partial batch is kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/shape.h"

namespace cudp {

struct Dataset {
  std::string name;
  Shape sample_shape;  // {C, H, W}
  int64_t classes = 10;
  std::vector<float> images;
  std::vector<int32_t> labels;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t sample_numel() const { return shape_numel(sample_shape); }
};

struct DataSplit {
  Dataset train, test;
};

// 10 classes, each a fixed template with pixels ~ N(0, 1); a sample is its
// class's template plus N(0, noise^2) noise. Learnable; all drawn from `seed`.
DataSplit make_synthetic(const Shape& sample_shape, int64_t train_size, int64_t test_size,
                         uint64_t seed, int64_t classes = 10, double noise = 1.5);
// The article's data: randn images and randint labels. Nothing to learn.
DataSplit make_random(const Shape& sample_shape, int64_t train_size, int64_t test_size,
                      uint64_t seed, int64_t classes = 10);

// The visiting order of one epoch: a seeded permutation, or 0..n-1.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);
// Copies samples order[first, first+count) into x [count, C, H, W] and y [count].
void gather_batch(const Dataset& data, const std::vector<int64_t>& order, int64_t first,
                  int64_t count, float* x, int32_t* y);

}  // namespace cudp
