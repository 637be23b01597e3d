// `cudp train`'s flags, parsed and checked into one struct.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/flags.h"
#include "kernels/sgd.h"
#include "runtime/device.h"
#include "runtime/tensor.h"

namespace cudp {

struct TrainConfig {
  std::string model = "seed-pool";
  Shape input{3, 32, 32};
  int64_t batch = 32;
  int64_t steps = 0;   // 0: derived from epochs
  int64_t epochs = 0;  // 0: derived from steps
  SgdOptions sgd;
  uint64_t seed = 0;
  std::string data = "synthetic";
  int64_t train_size = 0, test_size = 0;
  std::string devices_spec = "cpu";
  std::vector<Device> devices;
  int64_t log_every = 0;
  std::string save_path, init_path;
  bool help = false;
};

Flags train_flags();
TrainConfig parse_train_config(const std::vector<std::string>& args, std::string* help = nullptr);
Shape parse_input_shape(const std::string& text);  // "3x32x32"

}  // namespace cudp
