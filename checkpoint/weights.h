// A net's parameters as a weights file, under PyTorch's state_dict names.
//
// save_weights writes every named parameter of the net (conv1.weight, ...).
// load_weights requires exactly the net's names and shapes (a `module.` prefix,
// as nn.DataParallel's state_dict has, is accepted) and says which tensor is
// missing, extra or of the wrong shape.
#pragma once

#include <map>
#include <string>

#include "model/sequential.h"

namespace cudp {

void save_weights(const Sequential& net, const std::string& path,
                  const std::map<std::string, std::string>& metadata = {});
void load_weights(Sequential& net, const std::string& path);

}  // namespace cudp
