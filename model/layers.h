// The layers of cudp's nets: Conv2d, Linear, ReLU, MaxPool2d, Flatten.
//
// Constructor arguments and defaults follow torch.nn. Conv2d and Linear are
// initialised like PyTorch: weight and bias ~ U(-1/sqrt(fan_in), +1/sqrt(fan_in)),
// fan_in = C*R*S or in_features, weight first, then bias, from one generator.
#pragma once

#include <memory>

#include "model/layer.h"

namespace cudp {

std::unique_ptr<Layer> make_conv2d(std::string name, int64_t in_channels, int64_t out_channels,
                                   int64_t kernel_size, int64_t stride = 1, int64_t padding = 0);
std::unique_ptr<Layer> make_linear(std::string name, int64_t in_features, int64_t out_features);
std::unique_ptr<Layer> make_relu(std::string name);
std::unique_ptr<Layer> make_maxpool2d(std::string name, int64_t kernel_size, int64_t stride);
std::unique_ptr<Layer> make_flatten(std::string name);

}  // namespace cudp
