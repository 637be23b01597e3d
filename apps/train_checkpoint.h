// `cudp train`'s checkpoints: --save, --save-every and --resume over checkpoint/checkpoint.h.
//
// The weights file's metadata records everything that decides the run's
// numbers: model, input, data (and subset sizes), batch, seed, shuffle,
// drop-last, mean/std and the SGD options. --resume refuses a run whose flags
// differ in any of them, naming the flag. Devices are recorded too but only
// warned about: another device count or mode continues the run, not bitwise.
#pragma once

#include <ostream>
#include <string>

#include "apps/train_config.h"
#include "checkpoint/checkpoint.h"
#include "parallel/parallel_trainer.h"

namespace cudp {

Metadata run_metadata(const TrainConfig& c, const DataSplit& data);

// Writes PATH and its optimizer sibling for the run's current state.
void save_run(const std::string& path, ParallelTrainer& trainer, const TrainingState& state,
              const TrainConfig& c, const DataSplit& data);

// Loads --resume's checkpoint into the trainer (all replicas) after checking
// that this run's flags match the saved ones; returns where to continue.
TrainingState resume_run(const TrainConfig& c, const DataSplit& data, ParallelTrainer& trainer,
                         std::ostream& out);

}  // namespace cudp
