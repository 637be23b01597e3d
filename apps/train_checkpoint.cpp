// --save / --resume glue (see train_checkpoint.h).
#include "apps/train_checkpoint.h"

#include "io/safetensors.h"
#include "runtime/device_spec.h"
#include "runtime/error.h"

namespace cudp {
namespace {

std::string join(const std::vector<float>& values) {
  std::string out;
  for (float v : values) out += (out.empty() ? "" : ",") + metadata_number(v);
  return out;
}

std::string parallel_str(const TrainConfig& c) {
  return c.devices.size() == 1 ? "none" : parallel_mode_name(c.parallel);
}

// Metadata key -> the flag a user repeats to match it.
const std::pair<const char*, const char*> kMustMatch[] = {{"model", "--model"},
                                                          {"input", "--input"},
                                                          {"data", "--data"},
                                                          {"train_samples", "--train-size"},
                                                          {"batch", "--batch"},
                                                          {"seed", "--seed"},
                                                          {"shuffle", "--no-shuffle"},
                                                          {"drop_last", "--drop-last"},
                                                          {"mean", "--mean"},
                                                          {"std", "--std"},
                                                          {"lr", "--lr"},
                                                          {"momentum", "--momentum"},
                                                          {"dampening", "--dampening"},
                                                          {"weight_decay", "--weight-decay"},
                                                          {"nesterov", "--nesterov"},
                                                          {"lr_milestones", "--lr-milestones"},
                                                          {"lr_gamma", "--lr-gamma"}};

}  // namespace

Metadata run_metadata(const TrainConfig& c, const DataSplit& data) {
  Metadata m = sgd_metadata(c.sgd);
  std::string milestones;
  for (int64_t e : c.lr_milestones)
    milestones += (milestones.empty() ? "" : ",") + std::to_string(e);
  m["lr"] = metadata_number(c.sgd.lr);  // the base rate; the optimizer file has the current one
  m["lr_milestones"] = milestones.empty() ? "none" : milestones;
  m["lr_gamma"] = metadata_number(c.lr_gamma);
  m["model"] = c.model;
  m["input"] = shape_str(c.input);
  m["data"] = c.data.text();
  m["train_samples"] = std::to_string(data.train.size());
  m["batch"] = std::to_string(c.batch);
  m["seed"] = std::to_string(c.seed);
  m["shuffle"] = c.shuffle ? "true" : "false";
  m["drop_last"] = c.drop_last ? "true" : "false";
  m["mean"] = c.data.source.from_files() ? join(c.data.norm.mean) : "none";
  m["std"] = c.data.source.from_files() ? join(c.data.norm.std) : "none";
  m["devices"] = device_list_str(c.devices);
  m["parallel"] = parallel_str(c);
  m["classes"] = std::to_string(data.train.classes);
  m["producer"] = "cudp train";
  return m;
}

void save_run(const std::string& path, ParallelTrainer& trainer, const TrainingState& state,
              const TrainConfig& c, const DataSplit& data) {
  save_checkpoint(path, trainer.net(), trainer.optimizer(), state, run_metadata(c, data));
}

TrainingState resume_run(const TrainConfig& c, const DataSplit& data, ParallelTrainer& trainer,
                         std::ostream& out) {
  // The flags first, so that a different --input is named as such, not as a tensor's shape.
  const Checkpoint saved{c.resume_path, read_safetensors(c.resume_path).metadata, {}};
  const Metadata now = run_metadata(c, data);
  for (const auto& [key, flag] : kMustMatch) require_same(saved, key, now.at(key), flag);
  const Checkpoint checkpoint = load_checkpoint(c.resume_path, trainer.net(), trainer.optimizer());
  for (const char* key : {"devices", "parallel"}) {
    const auto saved = checkpoint.metadata.find(key);
    if (saved != checkpoint.metadata.end() && saved->second != now.at(key))
      out << "note: " << c.resume_path << " was saved with " << key << " " << saved->second
          << ", this run has " << now.at(key)
          << ": it continues the run, but not bitwise (the gradient sums run in another order)\n";
  }
  trainer.restored(checkpoint.state.step);
  return checkpoint.state;
}

}  // namespace cudp
