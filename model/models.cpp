// The named models (see models.h): the seed article's Net as written, and as meant.
//
// `seed` keeps the article's literal sizes (conv1 takes 3 channels, fc1 4096
// features) on purpose, so that 3x32x32 is refused at fc1 with both numbers
// instead of being reshaped into the wrong batch. `seed-pool` derives conv1's
// in-channels and fc1's in-features from the input shape.
#include "model/models.h"

#include <algorithm>

#include "model/layers.h"
#include "runtime/error.h"

namespace cudp {
namespace {

using Layers = std::vector<std::unique_ptr<Layer>>;

void add_head(Layers& layers, int64_t features, int64_t classes) {
  layers.push_back(make_flatten("flatten"));
  layers.push_back(make_linear("fc1", features, 512));
  layers.push_back(make_relu("relu3"));
  layers.push_back(make_linear("fc2", 512, classes));
}

Layers seed_layers(int64_t classes) {
  Layers layers;
  layers.push_back(make_conv2d("conv1", 3, 64, 3, 1, 1));
  layers.push_back(make_relu("relu1"));
  layers.push_back(make_conv2d("conv2", 64, 64, 3, 1, 1));
  layers.push_back(make_relu("relu2"));
  add_head(layers, 64 * 8 * 8, classes);
  return layers;
}

Layers seed_pool_layers(const Shape& input, int64_t classes) {
  if (input[1] < 4 || input[2] < 4)
    fail("seed-pool: expected an input of at least 4x4 (two 2x2 max-pools), found ",
         shape_str(input));
  Layers layers;
  layers.push_back(make_conv2d("conv1", input[0], 64, 3, 1, 1));
  layers.push_back(make_relu("relu1"));
  layers.push_back(make_maxpool2d("pool1", 2, 2));
  layers.push_back(make_conv2d("conv2", 64, 64, 3, 1, 1));
  layers.push_back(make_relu("relu2"));
  layers.push_back(make_maxpool2d("pool2", 2, 2));
  add_head(layers, 64 * (input[1] / 2 / 2) * (input[2] / 2 / 2), classes);
  return layers;
}

}  // namespace

std::vector<std::string> model_names() { return {"seed", "seed-pool"}; }

std::unique_ptr<Sequential> build_model(const std::string& name, const Shape& input, Device device,
                                        int64_t classes) {
  const auto names = model_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    fail("unknown model '", name, "'; known models: ", known);
  }
  if (input.size() != 3 ||
      std::any_of(input.begin(), input.end(), [](int64_t d) { return d <= 0; }))
    fail(name, ": expected a C x H x W input shape with positive sizes, found '", shape_str(input),
         "'");
  if (classes <= 0) fail(name, ": the number of classes must be positive, found ", classes);
  Layers layers = name == "seed" ? seed_layers(classes) : seed_pool_layers(input, classes);
  return std::make_unique<Sequential>(name, input, std::move(layers), device);
}

}  // namespace cudp
