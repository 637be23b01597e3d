// `cudp train`'s flags, parsed and checked into one struct.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "apps/data_flags.h"
#include "apps/flags.h"
#include "kernels/sgd.h"
#include "parallel/parallel_trainer.h"
#include "runtime/device.h"
#include "runtime/math.h"
#include "runtime/shape.h"

namespace cudp {

// What a launcher (mpirun) says about this process; one process alone by default.
struct Launch {
  int rank = 0, size = 1;
  int on_host = 1;  // processes on this machine: they share its cores
  int local_rank = 0;  // this process among them (OMPI_COMM_WORLD_LOCAL_RANK)
  int gpus = -1;       // GPUs on this machine; -1: ask CUDA (tests play other machines)
};

// `--devices auto` under a launcher: this host's GPUs split among its ranks in
// contiguous blocks (3 GPUs over 2 ranks: cuda:0,1 and cuda:2), one GPU per
// rank shared round-robin when there are more ranks than GPUs, else `cpu`.
std::vector<Device> local_auto_devices(int gpus, int local_rank, int local_ranks);

struct TrainConfig {
  std::string model = "seed-pool";
  Shape input{3, 32, 32};  // a file set's images replace it (see data_flags.h)
  bool input_given = false;
  int64_t batch = 32;
  int64_t steps = 0;   // 0: derived from epochs
  int64_t epochs = 0;  // 0: derived from steps
  SgdOptions sgd;
  // torch.optim.lr_scheduler.MultiStepLR: lr * gamma^(milestones <= epoch), 0-based epochs.
  std::vector<int64_t> lr_milestones;
  float lr_gamma = 0.1f;
  float lr_at(int64_t epoch) const;
  uint64_t seed = 0;
  DataConfig data;
  bool shuffle = true, drop_last = false;
  std::string devices_spec = "auto";
  std::vector<Device> devices;
  int threads = 1;  // per CPU device
  Math math = Math::fp32;  // --math: GEMM and convolution (runtime/math.h)
  // Data parallelism (more than one device); see parallel/parallel_trainer.h.
  ParallelMode parallel = ParallelMode::DataParallel;
  ReduceAlgorithm reduce = ReduceAlgorithm::Tree;
  std::size_t chunk_bytes = std::size_t{1} << 20;
  bool direct_edges = true;  // --edge direct|copy (PlanOptions::direct_reads)
  bool textbook = false;     // --textbook: the step as PyTorch runs it (bucket_plan.h)
  std::size_t bucket_cap_bytes = std::size_t{25} << 20;  // --bucket-cap-mb, ddp --textbook
  InterProcess inter = InterProcess::Tree;  // --inter, across processes
  double timeout_s = 300;                    // --timeout, across processes
  // The settings every process of a run must share, as (flag, value) in --help's
  // order: model, input, batch, schedule, optimizer, seed, data, parallel, ...
  std::vector<std::pair<std::string, std::string>> shared_settings;
  int output_rank = 0;  // --output-device as a position in `devices`
  std::string trace_path;
  bool check_replicas = false;
  bool cuda_graph = false;  // --cuda-graph on (parallel/step_graph.h)
  int64_t log_every = 0;
  std::string log_path;  // --log: JSON lines, appended
  std::string save_path, init_path, resume_path;
  int64_t save_every = 0;  // 0: only at the end
  bool help = false;
};

// `command` names the flags' errors: "cudp train: unknown flag --x" (or "cudp explain").
Flags train_flags(const std::string& command = "cudp train");
// "8" or "5,8": increasing positive epoch numbers; throws naming --lr-milestones.
std::vector<int64_t> parse_milestones(const std::string& text);
TrainConfig parse_train_config(const std::vector<std::string>& args, std::string* help = nullptr,
                               const Launch& launch = {},
                               const std::string& command = "cudp train");
// The trainers' options the config's flags choose (--parallel, --reduce,
// --chunk-bytes, --edge, --textbook, ...), tracing into `tracer` (null: none).
ParallelOptions parallel_options(const TrainConfig& c, Tracer* tracer);
Shape parse_input_shape(const std::string& text);  // "3x32x32"
// The cores of this machine divided among `devices` CPU devices of each of
// `processes` processes on it, at least 1.
int default_threads_per_device(std::size_t devices, int processes = 1);
// When `cpu_devices` CPU devices of `threads` compute threads each, in each of
// `processes` processes on this machine (each assumed to have as many), ask
// for more threads than it has cores: the warning to print, else "". The
// threads then take turns, so step times and a trace show the scheduler.
std::string oversubscription_warning(std::size_t cpu_devices, int threads, int processes,
                                     unsigned cores);
// "1048576", "64K", "1M" (binary units) -> bytes; throws naming --chunk-bytes.
std::size_t parse_byte_size(const std::string& text);
// --output-device: "cuda:1", "cpu:0" or a bare id "1" (PyTorch's output_device),
// resolved to the first position in `devices` that is that device.
int parse_output_device(const std::string& text, const std::vector<Device>& devices,
                        const std::string& devices_spec);

// The config table's `parallel` row of one process over several devices:
// "ddp, reduce tree, chunks of 1048576 bytes, direct edges[, output device
// cpu:0][, replicas checked][, textbook]" (cudp train and cudp explain).
std::string parallel_row(const TrainConfig& c);

}  // namespace cudp
