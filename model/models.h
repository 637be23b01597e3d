// The named models.
//
//   seed       the article's Net exactly: conv1 3->64, relu, conv2 64->64, relu,
//              flatten (its view(-1, 64*8*8)), fc1 4096->512, relu, fc2 512->10.
//              Valid for 3x8x8; on 3x32x32 building it fails at fc1 (4096
//              expected, 65536 found) instead of silently reshaping the batch.
//   seed-pool  the evident intent (the default): a 2x2 max-pool after each
//              conv's ReLU; conv1's in-channels and fc1's in-features come from
//              the input shape, so 3x32x32 and 1x28x28 both work.
// state_dict names are the article's: conv1.weight, conv1.bias, ..., fc2.bias.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/sequential.h"

namespace cudp {

std::vector<std::string> model_names();
std::unique_ptr<Sequential> build_model(const std::string& name, const Shape& input, Device device,
                                        int64_t classes = 10);

}  // namespace cudp
