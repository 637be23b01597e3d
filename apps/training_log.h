// --log FILE: the training run as JSON lines, one object per line, appended.
//
//   {"event":"start", "model":..., "data":..., "batch":..., "steps":..., ...}
//   {"event":"step", "step":20, "epoch":1, "lr":..., "loss":..., "accuracy":..., "ms_per_step":...,
//    "samples_per_s":..., "comm_ms_per_step":..., "moved_ms_per_step":...,
//    "comm_hidden":...}                                     one per progress line: the
//    first device's exposed and total movement time and the hidden share (0..1; 1 when
//    nothing moved), model/trainer.h's CommTime; under mpirun also "net_ms_per_step",
//    "net_exposed_ms_per_step" (its NetTime, the same definition)
//   {"event":"epoch", "step":..., "epoch":1, "test_loss":..., "test_accuracy":...,
//    "complete":true, "epoch_s":..., "eval_s":...}          one per epoch, and one at
//                                                           the end of a run that stops mid-epoch
// Numbers are printed with 9 significant digits, so a float32 loss reads back
// exactly (tools/torch_parity.py compares them); a non-finite one is null.
// Every line is flushed as it is written: a run that dies leaves whole lines.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace cudp {

class JsonLine {
 public:
  JsonLine& add(const char* key, double value);
  JsonLine& add(const char* key, int64_t value);
  JsonLine& add(const char* key, const std::string& value);
  JsonLine& add_bool(const char* key, bool value);
  std::string str() const { return text_ + "}"; }

 private:
  std::string text_ = "{";
};

class TrainingLog {
 public:
  explicit TrainingLog(const std::string& path);  // "" writes nothing; throws naming --log
  void write(const JsonLine& line);

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace cudp
