// Generated datasets: `synthetic` (learnable templates + noise) and `random`
// (the article's randn/randint). See dataset.h.
//
// Each part (templates, train split, test split) draws from its own stream,
// derived from the seed, so changing --test-size does not change the training data.
#include <cmath>

#include "data/dataset.h"
#include "runtime/error.h"
#include "runtime/rng.h"

namespace cudp {
namespace {

constexpr uint64_t kTemplateStream = 0x7465'6d70'6c61'7465ULL;  // "template"
constexpr uint64_t kTrainStream = 0x0074'7261'696e'0000ULL;     // "train"
constexpr uint64_t kTestStream = 0x0000'0074'6573'7400ULL;      // "test"

void check_sizes(const Shape& sample_shape, int64_t train_size, int64_t test_size,
                 int64_t classes) {
  if (sample_shape.size() != 3 || shape_numel(sample_shape) <= 0)
    fail("dataset: expected a CxHxW sample shape with positive sizes, found ",
         shape_str(sample_shape));
  if (train_size < 1 || test_size < 0) fail("dataset: train size must be >= 1, test size >= 0");
  if (classes < 2) fail("dataset: expected at least 2 classes, found ", classes);
}

Dataset draw_split(const std::string& name, const Shape& shape, int64_t count, int64_t classes,
                   Rng& rng, const std::vector<float>* templates, double noise) {
  Dataset d{name, shape, classes, {}, {}};
  const int64_t numel = shape_numel(shape);
  d.images.resize(static_cast<size_t>(count * numel));
  d.labels.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int32_t label = static_cast<int32_t>(rng.below(classes));
    d.labels[i] = label;
    float* image = d.images.data() + i * numel;
    const float* base = templates ? templates->data() + label * numel : nullptr;
    for (int64_t j = 0; j < numel; ++j)
      image[j] = static_cast<float>((base ? base[j] : 0.0) + noise * rng.normal());
  }
  return d;
}

}  // namespace

DataSplit make_synthetic(const Shape& sample_shape, int64_t train_size, int64_t test_size,
                         uint64_t seed, int64_t classes, double noise) {
  check_sizes(sample_shape, train_size, test_size, classes);
  const int64_t numel = shape_numel(sample_shape);
  Rng template_rng(seed ^ kTemplateStream);
  std::vector<float> templates(static_cast<size_t>(classes * numel));
  for (auto& t : templates) t = static_cast<float>(template_rng.normal());
  Rng train_rng(seed ^ kTrainStream), test_rng(seed ^ kTestStream);
  return {draw_split("synthetic", sample_shape, train_size, classes, train_rng, &templates, noise),
          draw_split("synthetic", sample_shape, test_size, classes, test_rng, &templates, noise)};
}

DataSplit make_random(const Shape& sample_shape, int64_t train_size, int64_t test_size,
                      uint64_t seed, int64_t classes) {
  check_sizes(sample_shape, train_size, test_size, classes);
  Rng train_rng(seed ^ kTrainStream), test_rng(seed ^ kTestStream);
  return {draw_split("random", sample_shape, train_size, classes, train_rng, nullptr, 1.0),
          draw_split("random", sample_shape, test_size, classes, test_rng, nullptr, 1.0)};
}

}  // namespace cudp
