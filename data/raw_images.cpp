// to_dataset and the normalisation checks (see raw_images.h).
//
// The per-pixel arithmetic is float32 on purpose: torchvision divides a
// float32 tensor by 255 and then subtracts and divides in float32, and the
// PyTorch parity script (tools/torch_parity.py) relies on equal inputs.
#include "data/raw_images.h"

#include <cmath>

#include "runtime/error.h"

namespace cudp {
namespace {

std::string join(const std::vector<float>& values) {
  std::string out;
  for (float v : values) out += (out.empty() ? "" : ",") + concat(v);
  return out;
}

}  // namespace

std::string Normalization::str() const { return concat("mean ", join(mean), " std ", join(std)); }

void check_normalization(const Normalization& norm, int64_t channels) {
  for (const auto* values : {&norm.mean, &norm.std}) {
    const char* parameter = values == &norm.mean ? "mean" : "std";
    const auto n = static_cast<int64_t>(values->size());
    if (n != 1 && n != channels)
      fail_parameter(parameter, "expected 1 value or ", channels,
                     " (one per channel of the images), found ", n, " (", join(*values), ")");
    for (float v : *values)
      if (!std::isfinite(v) || (values == &norm.std && !(v > 0)))
        fail_parameter(parameter, "expected ", values == &norm.std ? "positive " : "",
                       "finite values, found ", join(*values));
  }
}

Dataset to_dataset(const RawImages& raw, const std::string& name, const Normalization& norm,
                   int64_t classes, int64_t first, int64_t count) {
  if (count < 0) count = raw.size() - first;
  CUDP_ASSERT(first >= 0 && count >= 0 && first + count <= raw.size());
  CUDP_ASSERT(raw.sample_shape.size() == 3);
  check_normalization(norm, raw.sample_shape[0]);
  const int64_t channels = raw.sample_shape[0];
  const int64_t plane = raw.sample_shape[1] * raw.sample_shape[2];
  const int64_t numel = channels * plane;
  CUDP_ASSERT(static_cast<int64_t>(raw.pixels.size()) == raw.size() * numel);

  // One lookup table per channel: 256 values, so the conversion is a gather.
  std::vector<float> table(static_cast<size_t>(channels * 256));
  for (int64_t c = 0; c < channels; ++c) {
    const float mean = norm.mean[norm.mean.size() == 1 ? 0 : c];
    const float std = norm.std[norm.std.size() == 1 ? 0 : c];
    for (int p = 0; p < 256; ++p) {
      const float x = static_cast<float>(p) / 255.0f;
      table[c * 256 + p] = (x - mean) / std;
    }
  }
  Dataset d;
  d.name = name;
  d.sample_shape = raw.sample_shape;
  d.classes = classes;
  d.images.resize(static_cast<size_t>(count * numel));
  d.labels.assign(raw.labels.begin() + first, raw.labels.begin() + first + count);
  const uint8_t* in = raw.pixels.data() + first * numel;
  float* out = d.images.data();
  for (int64_t i = 0; i < count; ++i)
    for (int64_t c = 0; c < channels; ++c) {
      const float* t = table.data() + c * 256;
      for (int64_t j = 0; j < plane; ++j) *out++ = t[*in++];
    }
  return d;
}

}  // namespace cudp
