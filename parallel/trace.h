// Tracer: a Chrome trace (Perfetto, chrome://tracing) of a data-parallel run.
//
// Layout: one process per logical device (pid = its index, named
// "rank 1 (cpu:1)") with two threads, tid 0 "compute" and tid 1 "copy" (its
// incoming copies), so one device is one lane group and overlapping copy and
// add never share a row. Every event is a complete event (ph "X", ts/dur in
// microseconds). Names:
//   step, scatter, forward/<layer>, gather, loss, scatter_grad,
//   backward/<layer>, join, sgd                         (compute lanes)
//   broadcast                                           (ddp only, every compute
//             lane: before its first step or evaluation, and again after a
//             resume; dp's replicate phase is copies with phase broadcast)
//   peer_add, copy  with args {bytes, src, dst, phase, bucket, offset, length}
//             (compute lanes: a bucket on the plan's Parts route, parallel/bucket_plan.h)
//   copy  with args {bytes, src, dst, phase}            (compute lanes: dp's
//             gather and scatter_grad, which the compute stream runs)
//   copy  with args {bytes, src, dst, phase[, bucket, offset, length]}
//             (copy lanes: the batch's scatter from the host; a bucket's)
//   peer_add  with args {bytes, src, dst, phase, bucket, offset, length}
//             (copy lanes: a gradient bucket's reduce edge, reading the sender's
//             buffer in place; with --edge copy a copy and an add per chunk,
//             the add {src, dst, phase, bucket, offset, length}, no bytes)
//             --reduce ring: its hops are peer_add (or copy and add) with
//             phase reduce_scatter, then copy with all_gather (ddp) or gather
//             (dp, into the first device), one slice each, on the receiver's lane
//   sgd  with args {owner, offset, length}: the replica whose parameters it
//             steps, and which of them (on the lane of the stream that runs it)
// Every event is drawn on the lane of the stream that runs it, in the process
// (pid) of that stream's device: the owner of the stream. bytes are the bytes
// the event moves (4 x length); offset and length are floats of the flat
// parameter or gradient buffer; bucket is the plan's id (whole() is the last).
//   net_wait                                            (compute lane of this
//             process's first device: its compute stream waiting for the
//             transfers between processes; several processes)
//   all_reduce, reduce, broadcast, allreduce  with args {bytes, bucket}
//             (net lane: one collective over the processes, the closure of the
//             communicator's net stream; allreduce is MPI's own, --inter allreduce)
//   exchange  with args {bytes, peer, phase}             (net lane, inside those:
//             one level's transfers, posted and waited for together; bytes sent
//             plus received; peer when all go to one process)
//   add  with args {bytes, phase}                       (net lane: the sums the
//             net stream computes between exchanges)
//   enqueue, wait/loss, sync                            (the host lane, tid 3
//             of this process's first device, "host": the host thread queuing
//             a step's work, waiting for and reading the loss, queuing the
//             reduce and SGD, then the end-of-step sync; one per process)
//   graph replay  with args {phase}: the phases the replay runs     (the host
//             lane, --cuda-graph on: instead of enqueue and wait/loss, one
//             span per replayed step from the step's start to the launch;
//             then sync; a GPU only, so no CPU run emits it)
// src and dst are devices; -1 is the host (the batch comes from host memory).
// kSpanNames below is this list as data (a test checks both against the
// names a run emits).
// CPU time: on CPU devices every event whose marks enclose work (closures
// queued with enqueue: a layer, the loss, a copy, an add, an sgd; and the
// spans around them: step, gather, scatter_grad, broadcast on the Parts route)
// also carries {cpu_us, thread}: the CPU time that work got, pool threads
// summed in, and the Linux thread id (gettid) that ran it, with
// several_threads: true when more than one thread ran it (a waiter runs a copy
// stream's tasks, runtime/cpu_worker.h) and thread is the last one's;
// runtime/cpu_time.h says how it is counted. The net lane's events carry them
// too, read on the net stream's thread. Wait spans (join, net_wait, the
// compute lane's scatter, ddp's broadcast on the copy streams), the host lane
// and every event of a GPU carry none. Wall time well above cpu_us on one
// thread is time the work spent waiting for a core.
//
// One process of several (the TraceProcess constructor) writes a file that
// `cudp trace merge` can join to the others (parallel/trace_merge.h): pids
// and src/dst are GLOBAL device indices (process_group.h's DeviceLayout),
// processes are named "rank 1 · device 2 (cpu:0) · host", a third thread,
// tid 2 "net", holds the transfers to other processes (peer: their rank), and
// a top-level "cudp" object says who wrote the file and, in "net", how long
// the transfers between processes took and how much of it was exposed (the
// totals of the summary line, set_net_time()). Callers still pass local
// device indices, and the Tracer adds the first global one; on the net lane
// alone src and dst are passed global, since one end lives in another process.
// Times come from TimeMarks: a steady clock on CPU devices, CUDA events on
// GPUs, relative to the first event, or to set_origin()'s host time when
// several processes must share one origin (apps/train_command.cpp).
// The decision a reader would get wrong: tracing costs nothing when off
// because every call site passes a Tracer* and `traced()` tests it for null
// before building a name or a mark; the trainers never branch otherwise.
#pragma once

#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "runtime/cpu_time.h"
#include "runtime/stream.h"

namespace cudp {

enum class Lane { Compute = 0, Copy = 1, Net = 2, Host = 3 };

// Every span name above; "forward/" and "backward/" are followed by a layer.
inline constexpr const char* kSpanNames[] = {
    "step",    "scatter",   "forward/",  "gather",   "loss",      "scatter_grad", "backward/",
    "join",    "sgd",       "broadcast", "peer_add", "copy",      "add",          "net_wait",
    "reduce",  "all_reduce", "allreduce", "exchange", "enqueue",  "wait/loss",    "sync",
    "graph replay"};

// Each field is written only when set: bytes >= 0, the others != kNone / null.
struct TraceArgs {
  static constexpr int kNone = -2;
  int64_t bytes = -1;  // -1: moves no bytes
  int src = kNone, dst = kNone;
  const char* phase = nullptr;
  int peer = kNone;  // the other process's rank (net lane)
  int bucket = kNone;
  // The slice of the flat parameter (or gradient) buffer the event moves or
  // adds, in floats: [offset, offset + length); sgd: the elements it steps.
  int64_t offset = -1, length = -1;
  int owner = kNone;  // sgd: the replica whose parameters it steps
};
// A copy or add of floats [offset, offset + length) of bucket `bucket` from
// device src to dst; `moves` false: an add, which moves no bytes itself.
TraceArgs slice_args(int bucket, int64_t offset, int64_t length, int src, int dst,
                     const char* phase, bool moves = true);

// Who records a trace in a run of several processes.
struct TraceProcess {
  int rank = 0, ranks = 1;
  std::string host;
  int first_device = 0;              // global index of this process's device 0
  std::vector<std::string> devices;  // local order: "cpu:0", ...
};

struct TraceRecord {
  int rank = 0;  // the local device index given to span()
  Lane lane = Lane::Compute;
  std::string name;
  double begin_us = 0, end_us = 0;  // relative to the origin
  TraceArgs args;
  SpanCpu cpu;  // cpu.work false: no CPU time to write (trace.h's comment says which)
};

class Tracer {
 public:
  explicit Tracer(std::vector<std::string> device_names);  // one process: a name per device
  explicit Tracer(TraceProcess process);                   // one of several

  // Times from now on are relative to `host_us` (host_microseconds()), not to
  // the first event: every process takes it right after one barrier.
  void set_origin(double host_us);

  // begin and end: marks on one stream.
  void span(int rank, Lane lane, std::string name, TimeMark begin, TimeMark end,
            TraceArgs args = {});
  // A span timed on the host (host_microseconds()), by work that runs on a
  // host thread of its own, like the net stream's closures; any thread.
  void host_span(int rank, Lane lane, std::string name, double begin_us, double end_us,
                 TraceArgs args = {}, SpanCpu cpu = {});
  // The run's totals across processes, written in the "cudp" object.
  void add_net_time(double busy_ms, double exposed_ms);
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
  void write_metadata(std::ostream& out) const;
  void write_event(std::ostream& out, const TraceRecord& r) const;
  int global(int device) const { return process_.first_device + device; }

  CpuAccounting accounting_;  // CPU marks read CPU time while a tracer exists
  std::vector<std::string> device_names_;
  TraceProcess process_;
  bool several_ = false;
  bool has_origin_ = false;
  double origin_us_ = 0;
  double net_busy_ms_ = 0, net_exposed_ms_ = 0;
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
