// Flag definitions and checks for `cudp train`; see train_config.h.
//
// The defaults make `cudp train` with no flags the README's first run: seed-pool
// on the synthetic set, `--devices auto` (every GPU, else two CPU devices) with
// DataParallel, the article's optimizer (lr 0.001, momentum 0.9), 2 epochs of
// 4096 samples. `--data fashion-mnist` has a recipe of its own (kFashion*
// below, listed in --help), applied to each flag that is not given: the
// article's lr would need far more epochs to reach the 91% test accuracy bar.
// The data-parallel flags are checked here, before any device work: an output
// device outside the list or --check-replicas without ddp is refused with the
// flag's name.
#include "apps/train_config.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "runtime/cuda_info.h"
#include "runtime/device_spec.h"
#include "runtime/error.h"

namespace cudp {
namespace {

// --data fashion-mnist's recipe (measured: see the README).
const char* kFashionEpochs = "10";
const char* kFashionBatch = "64";
const char* kFashionLr = "0.02";
const char* kFashionWeightDecay = "0.0005";
const char* kFashionMilestones = "8";

// At most this many threads per CPU device, as at most 1024 CPU devices (cpu:N).
constexpr int64_t kMaxThreads = 1024;

// A flag's number as the float32 the optimizer keeps. A value past float's range
// is refused here, naming the flag: the cast would make it inf (1e300 -> inf),
// and --lr-gamma is checked nowhere else.
float float32_flag(const Flags& f, const char* name, bool non_negative) {
  const double v = non_negative ? f.non_negative_number(name) : f.number(name);
  if (std::fabs(v) > std::numeric_limits<float>::max())
    fail("--", name, ": expected a number that fits in float32 (magnitude at most ",
         std::numeric_limits<float>::max(), "), found '", f.str(name), "'");
  return static_cast<float>(v);
}

}  // namespace

Flags train_flags(const std::string& command) {
  Flags f(command);
  f.add("model", "seed-pool", "model to train: seed-pool or seed (the article's Net as written)");
  f.add("input", "3x32x32", "sample shape CxHxW");
  f.add("batch", "32",
        concat("batch size (--data fashion-mnist: ", kFashionBatch, "): the global batch, split "
               "as torch.chunk over every device, under mpirun every device of every rank in "
               "rank order, each rank taking its devices' contiguous rows of the same shuffle "
               "(no padding: not DistributedSampler)"));
  f.add("steps", "", "number of SGD steps (default: --epochs worth)");
  f.add("epochs", "2",
        concat("passes over the training set (ignored when --steps is given; --data "
               "fashion-mnist: ",
               kFashionEpochs, ")"));
  f.add("lr", "0.001",
        concat("learning rate (the article's; --data fashion-mnist: ", kFashionLr, ")"));
  f.add("momentum", "0.9", "SGD momentum (the article's)");
  f.add("dampening", "0", "SGD dampening");
  f.add("weight-decay", "0",
        concat("SGD weight decay (L2; --data fashion-mnist: ", kFashionWeightDecay, ")"));
  f.add_bool("nesterov", "Nesterov momentum");
  f.add("lr-milestones", "",
        concat("epochs after which the lr is multiplied by --lr-gamma, e.g. 5,8 (PyTorch's "
               "MultiStepLR; --data fashion-mnist: ",
               kFashionMilestones, ")"));
  f.add("lr-gamma", "0.1", "the factor of each --lr-milestones epoch");
  f.add("seed", "0", "seed for the init, the data and the shuffle");
  add_data_flags(f);
  f.add_bool("no-shuffle",
             "visit the training set in file order (default: a seeded shuffle per epoch)");
  f.add_bool("drop-last", "drop each epoch's last partial batch (default: keep it)");
  f.add("devices", "auto",
        "devices to train on: auto (every GPU, else cpu:2), cpu, cpu:N (N logical CPU devices), "
        "cuda, cuda:I[,J...] (a repeated id is another logical device on that GPU); under "
        "mpirun each rank's own devices, and auto is this host's GPUs split among its ranks "
        "(ranks share a GPU when there are more ranks), else cpu:1 per rank");
  f.add("threads", "",
        "threads per CPU device (default: the cores divided among the devices, at least 1: "
        "cpu uses every core, cpu:2 one each on two cores); results are bitwise reproducible "
        "for one thread count");
  f.add("math", "fp32",
        "arithmetic of GEMM and convolution: fp32 (IEEE single precision, PyTorch's matmul "
        "precision \"highest\") or tf32 (each operand rounded to TF32, sums in FP32: tensor "
        "cores on a GPU, the same rounding emulated on CPU devices, which makes them no faster)");
  f.add("parallel", "dp",
        "with several devices: dp (nn.DataParallel) or ddp (DistributedDataParallel); "
        "under mpirun ddp, the default there");
  f.add("inter", "tree",
        "under mpirun, across processes: tree (the one-process reduce order over every "
        "device of every rank: bitwise one process's) or allreduce (each rank reduces its "
        "devices, then MPI's own all-reduce: faster for big buckets, not bitwise)");
  f.add("timeout", "300",
        "under mpirun: seconds a rank waits for another before the run fails on every rank");
  f.add("reduce", "tree",
        "gradient summation: tree (binomial), star (each into the first) or ring (a "
        "reduce-scatter round the devices, each summing one slice, then an all-gather in "
        "ddp, a gather to the first device in dp: ZeRO's and FSDP's building block); "
        "under mpirun over every device of every rank");
  f.add("chunk-bytes", "1M", "collectives move buffers in chunks of this size (K, M suffixes)");
  f.add("edge", "direct",
        "reduce edges: direct (one add in place, where the two devices can address each "
        "other's memory: CPU devices, one GPU, GPUs with peer access) or copy (chunked copy "
        "into the receiver's scratch, then add)");
  f.add_bool("textbook",
             "run the step as PyTorch does, with the same bits as the default and the same "
             "--reduce: dp as nn.DataParallel (broadcast the whole buffer, the whole backward, "
             "one reduce by copy then add, star unless --reduce is given, SGD on the first "
             "device), ddp as DDP's reducer (buckets of --bucket-cap-mb, last parameters first, "
             "each all-reduced once its last gradient is ready)");
  f.add("bucket-cap-mb", "25",
        "ddp --textbook: a bucket's size cap in MiB, PyTorch's bucket_cap_mb (its first bucket "
        "is 1 MiB)");
  f.add("output-device", "",
        "dp: device that gathers the outputs and computes the loss "
        "(default: the first)");
  f.add("cuda-graph", "off",
        "on: capture the whole step (forward, loss, backward, the reduction over the devices, "
        "SGD) once as a CUDA graph and replay it each step, the same bits as off; every device "
        "a GPU, one process; the first step at a batch size and a last partial batch run "
        "without it (off is the default until a GPU report shows it passing)");
  f.add("trace", "", "write a Chrome trace (Perfetto, chrome://tracing) of the steps here");
  f.add_bool("check-replicas", "ddp: verify after each step that all replicas are identical");
  f.add("log-every", "20",
        "print a progress line every N steps: loss, accuracy, ms/step, samples/s, and comm: the "
        "wall time per step in which some movement between devices (a copy, an add of the "
        "reduction, a transfer between processes) runs on a stream of the first device while "
        "none of its compute does (the exposed communication), beside `moved`, all of that "
        "movement time, and the share of it hidden behind compute; under mpirun `net` is the "
        "same for the transfers between processes alone");
  f.add("log", "", "append one JSON line per progress line and per epoch to this file");
  f.add("save", "",
        "write the final checkpoint here (safetensors, PyTorch's state_dict names) and the "
        "optimizer state beside it (NAME.optim.safetensors)");
  f.add("save-every", "", "also write a checkpoint every N steps, as NAME.stepN.safetensors");
  f.add("init", "",
        "start from the parameters in this safetensors file (a 'module.' prefix is accepted)");
  f.add("resume", "",
        "continue the run saved in this checkpoint exactly (same flags; --steps/--epochs is the "
        "total)");
  f.add_bool("help", "print this help");
  return f;
}

float TrainConfig::lr_at(int64_t epoch) const {
  float lr = sgd.lr;  // float32 products, as torch's scheduler multiplies the group's lr
  for (int64_t m : lr_milestones)
    if (epoch >= m) lr *= lr_gamma;
  return lr;
}

std::vector<int64_t> parse_milestones(const std::string& text) {
  std::vector<int64_t> epochs;
  std::size_t start = 0;
  while (!text.empty()) {
    const std::size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? comma : comma - start);
    bool digits = !part.empty() && part.size() <= 6;
    for (char ch : part) digits = digits && ch >= '0' && ch <= '9';
    if (!digits || std::stoll(part) < 1 || (!epochs.empty() && std::stoll(part) <= epochs.back()))
      fail("--lr-milestones: expected increasing positive epoch numbers such as 5,8, found '", text,
           "'");
    epochs.push_back(std::stoll(part));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return epochs;
}

int default_threads_per_device(std::size_t devices, int processes) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t sharing = std::max<std::size_t>(1, devices) *
                              static_cast<std::size_t>(std::max(1, processes));
  return static_cast<int>(std::max<std::size_t>(1, cores / sharing));
}

std::string oversubscription_warning(std::size_t cpu_devices, int threads, int processes,
                                     unsigned cores) {
  const std::size_t wanted = cpu_devices * static_cast<std::size_t>(std::max(1, threads)) *
                             static_cast<std::size_t>(std::max(1, processes));
  if (cpu_devices == 0 || wanted <= std::max(1u, cores)) return "";
  return concat(cpu_devices, " CPU device", cpu_devices == 1 ? "" : "s", " x ", threads,
                " thread", threads == 1 ? "" : "s",
                processes > 1 ? concat(" x ", processes, " processes on this machine") : "",
                " = ", wanted, " compute threads on ", cores, " core", cores == 1 ? "" : "s",
                ": they take turns, so the step times and a --trace's durations show the "
                "scheduler as much as the work (waits of milliseconds, one replica's SGD ten "
                "times another's); for a timeline that tells the truth keep devices x threads "
                "x processes at most the cores");
}

Shape parse_input_shape(const std::string& text) {
  Shape shape;
  size_t start = 0;
  while (true) {
    const size_t x = text.find('x', start);
    const std::string part = text.substr(start, x == std::string::npos ? x : x - start);
    int64_t v = 0;
    bool digits = !part.empty() && part.size() <= 6;
    for (char c : part) digits = digits && c >= '0' && c <= '9';
    if (digits) v = std::stoll(part);
    if (!digits || v < 1)
      fail("--input: expected CxHxW with positive sizes (e.g. 3x32x32), found '", text, "'");
    shape.push_back(v);
    if (x == std::string::npos) break;
    start = x + 1;
  }
  if (shape.size() != 3)
    fail("--input: expected CxHxW with three sizes (e.g. 3x32x32), found '", text, "'");
  return shape;
}

std::size_t parse_byte_size(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string unit = text.substr(digits);
  std::size_t shift = 0;
  if (unit == "K" || unit == "KiB")
    shift = 10;
  else if (unit == "M" || unit == "MiB")
    shift = 20;
  else if (unit == "G" || unit == "GiB")
    shift = 30;
  else if (!unit.empty())
    digits = 0;
  if (digits == 0 || digits > 12)
    fail("--chunk-bytes: expected a byte count such as 1048576, 64K or 1M, found '", text, "'");
  // The count is checked before the shift: 17179869185G << 30 wraps to 1G.
  const uint64_t count = std::stoull(text.substr(0, digits));
  if (count > (uint64_t{1} << 32) >> shift || (count << shift) < 4)
    fail("--chunk-bytes: expected 4 bytes to 4G, found '", text, "'");
  return static_cast<std::size_t>(count << shift);
}

int parse_output_device(const std::string& text, const std::vector<Device>& devices,
                        const std::string& devices_spec) {
  auto is_id = [](const std::string& id) {
    bool ok = !id.empty() && id.size() <= 6;
    for (char c : id) ok = ok && c >= '0' && c <= '9';
    return ok;
  };
  Device wanted = devices.at(0);  // a bare id names a device of the list's kind
  std::string id = text;
  if (text.rfind("cpu:", 0) == 0 || text.rfind("cuda:", 0) == 0) {
    wanted.kind = text[1] == 'p' ? DeviceKind::Cpu : DeviceKind::Cuda;
    id = text.substr(text.find(':') + 1);
  }
  if (!is_id(id))
    fail("--output-device: expected a device such as cuda:1 or cpu:0, or an id, found '", text,
         "'");
  wanted.index = std::stoi(id);
  for (std::size_t r = 0; r < devices.size(); ++r)
    if (devices[r] == wanted) return static_cast<int>(r);
  fail("--output-device ", text, ": ", wanted.str(), " is not one of the training devices ",
       device_list_str(devices), " (--devices ", devices_spec, ")");
}

std::vector<Device> local_auto_devices(int gpus, int local_rank, int local_ranks) {
  if (gpus <= 0) return {cpu_device(0)};
  local_ranks = std::max(1, local_ranks);
  local_rank = std::clamp(local_rank, 0, local_ranks - 1);
  if (local_ranks > gpus) return {cuda_device(local_rank % gpus)};  // ranks share GPUs
  // Contiguous blocks, as split_range cuts: 3 GPUs over 2 ranks is 0,1 and 2.
  auto first = [&](int l) { return (gpus * l + local_ranks - 1) / local_ranks; };
  const int begin = first(local_rank), end = first(local_rank + 1);
  std::vector<Device> devices;
  for (int i = begin; i < end; ++i) devices.push_back(cuda_device(i));
  return devices;
}

TrainConfig parse_train_config(const std::vector<std::string>& args, std::string* help,
                               const Launch& launch, const std::string& command) {
  Flags f = train_flags(command);
  f.parse(args);
  TrainConfig c;
  c.help = f.boolean("help");
  if (c.help) {
    if (help) *help = f.help();
    return c;
  }
  c.model = f.str("model");
  c.input = parse_input_shape(f.str("input"));
  c.input_given = f.given("input");
  c.data = parse_data_config(f);
  const bool fashion = c.data.source.kind == "fashion-mnist";
  auto value = [&](const char* flag, const char* fashion_default) {
    if (fashion) f.set_default(flag, fashion_default);
  };
  value("batch", kFashionBatch);
  value("epochs", kFashionEpochs);
  value("lr", kFashionLr);
  value("weight-decay", kFashionWeightDecay);
  value("lr-milestones", kFashionMilestones);
  c.batch = f.positive_int("batch");
  if (f.given("steps")) {
    c.steps = f.positive_int("steps");
    if (f.given("epochs")) fail("--steps and --epochs: give one or the other, not both");
  } else {
    c.epochs = f.positive_int("epochs");
  }
  c.shuffle = !f.boolean("no-shuffle");
  c.drop_last = f.boolean("drop-last");
  c.sgd.lr = float32_flag(f, "lr", true);
  c.sgd.momentum = float32_flag(f, "momentum", true);
  c.sgd.dampening = float32_flag(f, "dampening", false);
  c.sgd.weight_decay = float32_flag(f, "weight-decay", true);
  c.sgd.nesterov = f.boolean("nesterov");
  c.lr_milestones = parse_milestones(f.str("lr-milestones"));
  c.lr_gamma = float32_flag(f, "lr-gamma", true);
  check_sgd_options(c.sgd);
  c.seed = f.seed("seed");
  c.devices_spec = f.str("devices");
  const bool processes = launch.size > 1;
  if (processes && c.devices_spec == "auto")  // the local rank's GPUs, else one CPU device
    c.devices = local_auto_devices(launch.gpus >= 0 ? launch.gpus : cuda_device_count(),
                                   launch.local_rank, launch.on_host);
  else
    c.devices = parse_device_spec(c.devices_spec);
  c.threads = default_threads_per_device(c.devices.size(), launch.on_host);
  if (f.given("threads")) {
    const int64_t threads = f.positive_int("threads");  // an int: 2^32 would wrap to 0
    if (threads > kMaxThreads)
      fail("--threads: expected 1 to ", kMaxThreads, " threads per CPU device, found '",
           f.str("threads"), "'");
    c.threads = static_cast<int>(threads);
  }
  c.math = parse_math(f.str("math"), "--math");
  if (processes && !f.given("parallel")) f.set_default("parallel", "ddp");
  c.parallel = parse_parallel_mode(f.str("parallel"));
  c.inter = parse_inter_process(f.str("inter"));
  c.timeout_s = f.non_negative_number("timeout");
  if (c.timeout_s < 1) fail("--timeout: expected at least 1 second, found ", f.str("timeout"));
  c.textbook = f.boolean("textbook");
  const bool textbook_dp = c.textbook && c.parallel == ParallelMode::DataParallel;
  if (textbook_dp && !f.given("reduce")) f.set_default("reduce", "star");  // torch's comm
  if (textbook_dp && !f.given("edge")) f.set_default("edge", "copy");    // .to(), then add
  c.reduce = parse_reduce_algorithm(f.str("reduce"));
  if (processes && c.reduce == ReduceAlgorithm::Ring && c.inter == InterProcess::Allreduce)
    fail("--reduce ring: runs round every device of every rank, so it cannot be combined with "
         "--inter allreduce (MPI's own all-reduce between ranks); use --inter tree");
  c.chunk_bytes = parse_byte_size(f.str("chunk-bytes"));
  const std::string edge = f.str("edge");
  if (edge != "direct" && edge != "copy")
    fail("--edge: expected direct or copy, found '", edge, "'");
  c.direct_edges = edge == "direct";
  if (textbook_dp && c.direct_edges)
    fail("--edge direct: --textbook dp reduces as nn.DataParallel does, each gradient copied to "
         "the receiver, then added (--edge copy)");
  if (f.given("bucket-cap-mb")) {
    if (!c.textbook || c.parallel != ParallelMode::Distributed)
      fail("--bucket-cap-mb: needs --textbook --parallel ddp (the default buckets are one per "
           "layer, dp's textbook bucket is the whole buffer)");
    const double mb = f.number("bucket-cap-mb");
    if (!(mb > 0) || mb > 1024 * 1024)
      fail("--bucket-cap-mb: expected a size above 0 and at most 1048576 MiB, found '",
           f.str("bucket-cap-mb"), "'");
    // PyTorch: int(bucket_cap_mb * 1024 * 1024), at least one byte here.
    c.bucket_cap_bytes = std::max<std::size_t>(1, static_cast<std::size_t>(mb * 1024 * 1024));
  }
  if (f.given("output-device"))
    c.output_rank = parse_output_device(f.str("output-device"), c.devices, c.devices_spec);
  if (c.output_rank != 0 && c.parallel != ParallelMode::DataParallel)
    fail("--output-device: only --parallel dp gathers outputs on one device");
  const std::string graph = f.str("cuda-graph");
  if (graph != "on" && graph != "off")
    fail("--cuda-graph: expected on or off, found '", graph, "'");
  c.cuda_graph = graph == "on";
  if (c.cuda_graph) {
    for (const Device& d : c.devices)
      if (!d.is_cuda())
        fail("--cuda-graph on: expected every device of --devices on a GPU, found ", d.str(),
             " in '", c.devices_spec, "' (a CPU device's stream is a worker thread, which a "
             "CUDA graph cannot capture)");
    if (processes)
      fail("--cuda-graph on: expected one process, found ", launch.size,
           " under mpirun (the transfers between processes are host MPI calls, which a CUDA "
           "graph cannot capture)");
  }
  c.trace_path = f.str("trace");
  c.check_replicas = f.boolean("check-replicas");
  if (c.check_replicas && c.parallel != ParallelMode::Distributed)
    fail("--check-replicas: needs --parallel ddp (dp keeps one set of parameters)");
  c.log_every = f.positive_int("log-every");
  c.log_path = f.str("log");
  c.save_path = f.str("save");
  c.init_path = f.str("init");
  c.resume_path = f.str("resume");
  if (f.given("save-every")) {
    c.save_every = f.positive_int("save-every");
    if (c.save_path.empty()) fail("--save-every: needs --save PATH (files are named after it)");
  }
  if (!c.resume_path.empty() && !c.init_path.empty())
    fail("--resume and --init: give one or the other (--resume restores the parameters too)");
  for (const char* flag :
       {"model", "input", "batch", "steps", "epochs", "lr", "momentum", "dampening",
        "weight-decay", "nesterov", "lr-milestones", "lr-gamma", "seed", "data", "mean", "std",
        "train-size", "test-size", "no-shuffle", "drop-last", "math", "parallel", "reduce", "inter",
        "chunk-bytes", "edge", "textbook", "bucket-cap-mb", "check-replicas", "save-every", "init", "resume"})
    c.shared_settings.emplace_back(flag, f.str(flag));
  return c;
}

ParallelOptions parallel_options(const TrainConfig& c, Tracer* tracer) {
  ParallelOptions options;
  options.mode = c.parallel;
  options.plan.algorithm = c.reduce;
  options.plan.chunk_bytes = c.chunk_bytes;
  options.plan.direct_reads = c.direct_edges;
  options.plan.inter = c.inter;
  options.plan.textbook = c.textbook;
  options.plan.bucket_cap_bytes = c.bucket_cap_bytes;
  options.output_rank = c.output_rank;
  options.check_replicas = c.check_replicas;
  options.tracer = tracer;
  options.cuda_graph = c.cuda_graph;
  return options;
}

std::string parallel_row(const TrainConfig& c) {
  return concat(parallel_mode_name(c.parallel), ", reduce ", reduce_algorithm_name(c.reduce),
                ", chunks of ", c.chunk_bytes, " bytes",
                c.direct_edges ? ", direct edges" : ", copy edges",
                c.parallel == ParallelMode::DataParallel
                    ? ", output device " + c.devices[static_cast<size_t>(c.output_rank)].str()
                    : std::string(),
                c.check_replicas ? ", replicas checked" : "", c.textbook ? ", textbook" : "",
                c.cuda_graph ? ", CUDA graph" : "");
}

}  // namespace cudp
