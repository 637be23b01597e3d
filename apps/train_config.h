// `cudp train`'s flags, parsed and checked into one struct.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/flags.h"
#include "kernels/sgd.h"
#include "parallel/parallel_trainer.h"
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
  std::string devices_spec = "auto";
  std::vector<Device> devices;
  // Data parallelism (more than one device); see parallel/parallel_trainer.h.
  ParallelMode parallel = ParallelMode::DataParallel;
  ReduceAlgorithm reduce = ReduceAlgorithm::Tree;
  std::size_t chunk_bytes = std::size_t{1} << 20;
  int output_rank = 0;  // --output-device as a position in `devices`
  std::string trace_path;
  bool check_replicas = false;
  int64_t log_every = 0;
  std::string save_path, init_path;
  bool help = false;
};

Flags train_flags();
TrainConfig parse_train_config(const std::vector<std::string>& args, std::string* help = nullptr);
Shape parse_input_shape(const std::string& text);  // "3x32x32"
// "1048576", "64K", "1M" (binary units) -> bytes; throws naming --chunk-bytes.
std::size_t parse_byte_size(const std::string& text);
// --output-device: "cuda:1", "cpu:0" or a bare id "1" (PyTorch's output_device),
// resolved to the first position in `devices` that is that device.
int parse_output_device(const std::string& text, const std::vector<Device>& devices,
                        const std::string& devices_spec);

}  // namespace cudp
