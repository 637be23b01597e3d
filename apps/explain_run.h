// The steps `cudp explain` runs: `cudp train`'s setup (data, devices, model,
// trainer) with a Tracer on, `steps` steps, no evaluation, nothing written.
// The decision a reader would get wrong: the batches are the ones `cudp train`
// with the same flags takes, in the same order, so a traced step is one of
// that run's steps (the same shards, the same bytes), not a synthetic one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/train_config.h"
#include "parallel/trace.h"

namespace cudp {

struct TracedRun {
  std::vector<TraceRecord> records;  // every step's, Tracer::records()
  std::vector<std::string> devices;  // rank r's device, "cpu:1"
  int64_t parameters = 0;            // of the model
  std::string buckets;               // describe_buckets(): "[fc2.bias fc2.weight] ..."
  int bucket_count = 0;
  // Each bucket's id (the trace's `bucket`), bytes and route, and for ddp the
  // whole buffer (its first broadcast):
  // "0 (7,168 bytes) whole, ..., 4 = the whole buffer (8,566,056 bytes) parts".
  std::string routes;
  bool any_parts = false;       // some bucket is cut into slices (Route::Parts)
  std::vector<int64_t> shards;  // the last step's samples per device
};

// The config must come from parse_train_config (checked flags); its
// trace_path, when set, gets the Chrome trace of the steps (Tracer::write).
TracedRun run_traced_steps(const TrainConfig& c, int64_t steps);

}  // namespace cudp
