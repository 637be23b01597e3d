// Training checkpoints: PATH (the weights) and its sibling <name>.optim.safetensors.
//
//   PATH                     exactly the net's state_dict tensors under PyTorch's
//                            names (torch.load-able through tools/safetensors_torch.py),
//                            __metadata__: the caller's (model, input, data,
//                            hyper-parameters) plus step, epoch, loader_offset
//   <name>.optim.safetensors SGD's momentum buffer cut under the same names (none
//                            when momentum is 0 or no step was taken); metadata:
//                            step, sgd_steps, epoch, loader_offset (the loader's
//                            whole state: its order is recomputed from seed and epoch)
// The optimizer file is written first, then PATH, each atomically; both carry
// the step, and loading refuses a pair whose steps differ (a crash between the
// two writes) or whose names or shapes do not match the net.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "data/loader.h"
#include "model/sequential.h"
#include "model/sgd.h"

namespace cudp {

using Metadata = std::map<std::string, std::string>;

struct TrainingState {
  int64_t step = 0;       // SGD steps taken by the run
  LoaderPosition loader;  // where the next batch starts
};

// run.safetensors -> run.optim.safetensors (any other name: name + ".optim.safetensors").
std::string optimizer_state_path(const std::string& path);
// run.safetensors, 300 -> run.step300.safetensors (for --save-every).
std::string step_checkpoint_path(const std::string& path, int64_t step);

void save_checkpoint(const std::string& path, const Sequential& net, Sgd& sgd,
                     const TrainingState& state, Metadata metadata);

struct Checkpoint {
  std::string path;
  Metadata metadata;  // PATH's
  TrainingState state;
};
// Loads PATH into `net` and the sibling's momentum into `sgd` (and its step
// count); throws naming the file, the tensor, the expected and the found (a
// missing sibling: a ParameterError for "checkpoint" with PATH).
Checkpoint load_checkpoint(const std::string& path, Sequential& net, Sgd& sgd);

// Metadata values: SGD's options, floats printed so they read back exactly.
std::string metadata_number(double value);
Metadata sgd_metadata(const SgdOptions& options);
// Throws a ParameterError for "checkpoint" unless checkpoint.metadata[key] ==
// value, naming the setting as the caller calls it (cudp train: its flag).
void require_same(const Checkpoint& checkpoint, const std::string& key, const std::string& value,
                  const std::string& setting);

}  // namespace cudp
