// Tracer: a Chrome trace (Perfetto, chrome://tracing) of a data-parallel run.
//
// Layout: one process per logical device (pid = rank, named "rank 1 (cpu:1)")
// with two threads, tid 0 "compute" and tid 1 "copy" (its incoming copies), so
// one device is one lane group and overlapping copy and add never share a row.
// Every event is a complete event (ph "X", ts/dur in microseconds). Names:
//   step, scatter, forward/<layer>, gather, loss, scatter_grad,
//   backward/<layer>, join, sgd                         (compute lanes)
//   broadcast                                           (ddp's compute lanes,
//             its first step and the step after a resume)
//   peer_add, copy  with args {bytes, src, dst, phase}  (compute lanes: a
//             bucket on the plan's Parts route, parallel/bucket_plan.h)
//   copy  with args {bytes, src, dst, phase}            (copy lanes)
//   peer_add  with args {bytes, src, dst, phase}        (copy lanes: a gradient
//             bucket's reduce edge, reading the sender's buffer in place;
//             with --edge copy a copy and an add per chunk instead)
// src and dst are ranks; -1 is the host (the batch comes from host memory).
// Times come from TimeMarks: a steady clock on CPU devices, CUDA events on
// GPUs. The decision a reader would get wrong: tracing costs nothing when off
// because every call site passes a Tracer* and `traced()` tests it for null
// before building a name or a mark; the trainers never branch otherwise.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/stream.h"

namespace cudp {

enum class Lane { Compute = 0, Copy = 1 };

struct TraceArgs {
  static constexpr int kNone = -2;
  int64_t bytes = -1;  // -1: not a copy
  int src = kNone, dst = kNone;
  const char* phase = nullptr;
};

struct TraceRecord {
  int rank = 0;
  Lane lane = Lane::Compute;
  std::string name;
  double begin_us = 0, end_us = 0;  // relative to the first event
  TraceArgs args;
};

class Tracer {
 public:
  explicit Tracer(std::vector<std::string> device_names);  // one per rank

  void span(int rank, Lane lane, std::string name, TimeMark begin, TimeMark end,
            TraceArgs args = {});
  // Turns pending marks into times; every stream they were recorded on must be
  // synchronized. Trainers call it at the end of each step.
  void flush();
  std::vector<TraceRecord> records();  // flushed, sorted by begin time
  std::string json();
  void write(const std::string& path);  // whole or not at all

 private:
  struct Pending {
    int rank;
    Lane lane;
    std::string name;
    TimeMark begin, end;
    TraceArgs args;
  };
  std::vector<std::string> device_names_;
  std::mutex mutex_;
  std::vector<Pending> pending_;
  std::vector<TraceRecord> done_;
};

// Queues `enqueue()`'s work on `stream` as one span; without a tracer, just queues it.
template <class Enqueue>
void traced(Tracer* tracer, Stream& stream, int rank, Lane lane, const char* name,
            const TraceArgs& args, Enqueue&& enqueue) {
  if (!tracer) {
    enqueue();
    return;
  }
  TimeMark begin = stream.mark();
  enqueue();
  tracer->span(rank, lane, name, std::move(begin), stream.mark(), args);
}

}  // namespace cudp
