// save_checkpoint / load_checkpoint (see checkpoint.h).
//
// The momentum buffer lives on the optimizer's device (the net's); it comes to
// the host in one copy and is cut at the net's parameter offsets, so the
// optimizer file names tensors exactly as the weights file does. Loading checks
// both files whole before it touches the net or the optimizer.
#include "checkpoint/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "checkpoint/weights.h"
#include "io/safetensors.h"
#include "runtime/error.h"

namespace cudp {
namespace {

const std::string kSuffix = ".safetensors";

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string stem(const std::string& path) {
  return ends_with(path, kSuffix) ? path.substr(0, path.size() - kSuffix.size()) : path;
}

const std::string& value_of(const Metadata& metadata, const std::string& key,
                            const std::string& path) {
  const auto it = metadata.find(key);
  if (it == metadata.end())
    fail(path, ": expected __metadata__ key '", key,
         "' (a cudp checkpoint; a plain weights file initialises a net but cannot resume a run)");
  return it->second;
}

int64_t int_of(const Metadata& metadata, const std::string& key, const std::string& path) {
  const std::string& text = value_of(metadata, key, path);
  bool digits = !text.empty() && text.size() <= 18;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  if (!digits)
    fail(path, ": expected __metadata__ '", key, "' to be a non-negative integer, found '", text,
         "'");
  return std::stoll(text);
}

}  // namespace

std::string optimizer_state_path(const std::string& path) {
  return stem(path) + ".optim" + kSuffix;
}

std::string step_checkpoint_path(const std::string& path, int64_t step) {
  return concat(stem(path), ".step", step, kSuffix);
}

std::string metadata_number(double value) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", value);  // 9 digits: any float reads back exactly
  return buf;
}

Metadata sgd_metadata(const SgdOptions& o) {
  return {{"lr", metadata_number(o.lr)},
          {"momentum", metadata_number(o.momentum)},
          {"dampening", metadata_number(o.dampening)},
          {"weight_decay", metadata_number(o.weight_decay)},
          {"nesterov", o.nesterov ? "true" : "false"},
          {"maximize", o.maximize ? "true" : "false"}};
}

void require_same(const Checkpoint& checkpoint, const std::string& key, const std::string& value,
                  const std::string& setting) {
  const std::string& saved = value_of(checkpoint.metadata, key, checkpoint.path);
  if (saved != value)
    fail_value("checkpoint", checkpoint.path, "the run was saved with ", setting, " ", saved,
               ", this one has ", setting, " ", value,
               ": a resumed run continues exactly only with the same settings");
}

void save_checkpoint(const std::string& path, const Sequential& net, Sgd& sgd,
                     const TrainingState& state, Metadata metadata) {
  const Metadata position = {{"step", std::to_string(state.step)},
                             {"epoch", std::to_string(state.loader.epoch)},
                             {"loader_offset", std::to_string(state.loader.offset)}};
  std::vector<NamedTensor> momentum;
  if (sgd.momentum_buffer() && sgd.steps_taken() > 0) {
    std::vector<float> host(static_cast<size_t>(net.param_count()));
    const Context ctx{net.device()};
    copy_bytes(ctx, host.data(), cpu_device(), sgd.momentum_buffer(), net.device(),
               host.size() * sizeof(float));
    synchronize(ctx);
    for (const NamedParam& p : net.named_params())
      momentum.push_back(
          {p.name, p.shape,
           std::vector<float>(host.begin() + p.offset, host.begin() + p.offset + p.numel())});
  }
  Metadata optim = position;
  optim["sgd_steps"] = std::to_string(sgd.steps_taken());
  optim["format"] = "cudp-sgd";
  for (const auto& [key, value] : sgd_metadata(sgd.options())) optim[key] = value;
  write_safetensors(optimizer_state_path(path), momentum, optim);

  for (const auto& [key, value] : position) metadata[key] = value;
  metadata.emplace("format", "pt");
  save_weights(net, path, metadata);
}

Checkpoint load_checkpoint(const std::string& path, Sequential& net, Sgd& sgd) {
  const std::string optim_path = optimizer_state_path(path);
  const SafetensorsFile weights_meta_only = read_safetensors(path);
  Checkpoint c{path, weights_meta_only.metadata, {}};
  c.state.step = int_of(c.metadata, "step", path);
  c.state.loader.epoch = int_of(c.metadata, "epoch", path);
  c.state.loader.offset = int_of(c.metadata, "loader_offset", path);

  SafetensorsFile optim;
  try {
    optim = read_safetensors(optim_path);
  } catch (const Error& e) {
    fail_value("checkpoint", path, "needs its optimizer state ", optim_path, ": ", e.what());
  }
  for (const char* key : {"step", "epoch", "loader_offset"})
    if (int_of(optim.metadata, key, optim_path) != int_of(c.metadata, key, path))
      fail(optim_path, ": ", key, " ", value_of(optim.metadata, key, optim_path), " but ", path,
           " has ", key, " ", value_of(c.metadata, key, path),
           ": the two files were not written by the same save");
  const int64_t sgd_steps = int_of(optim.metadata, "sgd_steps", optim_path);

  // Momentum tensors: exactly the net's names and shapes, or none at all.
  const bool want_momentum = sgd.momentum_buffer() && sgd_steps > 0;
  if (!want_momentum && !optim.tensors.empty())
    fail(optim_path, ": holds momentum buffers (", optim.tensors.front().name,
         ", ...) but this run has momentum ", sgd.options().momentum,
         sgd_steps == 0 ? " and no step taken" : "", ": expected none");
  std::vector<float> host;
  if (want_momentum) {
    std::set<std::string> names;
    host.resize(static_cast<size_t>(net.param_count()));
    for (const NamedParam& p : net.named_params()) {
      names.insert(p.name);
      const NamedTensor* t = optim.find(p.name);
      if (!t)
        fail(optim_path, ": missing momentum buffer '", p.name, "' (expected ", shape_str(p.shape),
             ") for model ", net.name());
      if (t->shape != p.shape)
        fail(optim_path, ": momentum buffer '", p.name, "': expected ", shape_str(p.shape),
             ", found ", shape_str(t->shape));
      std::copy(t->values.begin(), t->values.end(), host.begin() + p.offset);
    }
    for (const NamedTensor& t : optim.tensors)
      if (!names.count(t.name))
        fail(optim_path, ": unexpected tensor '", t.name, "' (", shape_str(t.shape), "): model ",
             net.name(), " has no parameter of that name");
  }

  load_weights(net, path);  // checks names and shapes before it copies anything
  if (want_momentum) {
    const Context ctx{net.device()};
    copy_bytes(ctx, sgd.momentum_buffer(), net.device(), host.data(), cpu_device(),
               host.size() * sizeof(float));
    synchronize(ctx);
  }
  sgd.set_steps_taken(sgd_steps);
  return c;
}

}  // namespace cudp
