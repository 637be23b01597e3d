// Collectives over a DeviceGroup: reduce (sum into a root), broadcast, all_reduce.
//
// Buffers: buffers[r] holds n floats on rank r; only ranks 0..buffers.size()-1
// take part (DataParallel leaves idle devices out). Algorithms:
//   tree  binomial: at level l (s = 2^l) rank r with r % 2s == 0 and r+s < M
//         receives rank r+s's buffer and adds it; ceil(log2 M) levels, any M.
//         Broadcast runs the levels in reverse. Ranks are taken relative to root.
//   star  reduce: every rank in turn into the root (PyTorch's path without
//         NCCL); broadcast: the root to every rank at once.
// An edge of a reduce copies chunk_bytes at a time into one of two scratch
// slots of the receiver (its copy stream) and adds it there (its compute
// stream); events let the copy of chunk i+1 run while chunk i is added. Where
// the two devices can address each other's memory it is one "peer_add" instead
// (CollectiveOptions::direct_reads), traced with the bytes it reads remotely.
// Everything is in place: a reduce leaves partial sums in the non-root
// buffers of the tree (the DP step overwrites its gradients at the next
// backward anyway); all_reduce and broadcast leave the result everywhere.
// Ordering is stream-ordered, like NCCL: a collective starts after the work
// already queued on each participant's compute stream, and work queued there
// afterwards sees the result and may overwrite the buffers.
// The decision a reader would get wrong: the summation order depends only on
// M and the algorithm, never on the chunk size or on timing, so a result is
// bitwise reproducible; tree and star differ in the last bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "parallel/device_group.h"
#include "parallel/trace.h"
#include "runtime/memory.h"
#include "runtime/thread_pool.h"

namespace cudp {

enum class ReduceAlgorithm { Tree, Star };
ReduceAlgorithm parse_reduce_algorithm(const std::string& text);  // "tree" or "star"
const char* reduce_algorithm_name(ReduceAlgorithm algorithm);

struct Edge {
  int to, from;  // `to` receives `from`'s buffer
};
// The edges level by level; the edges of one level run concurrently.
std::vector<std::vector<Edge>> reduce_levels(int ranks, ReduceAlgorithm algorithm, int root = 0);
std::vector<std::vector<Edge>> broadcast_levels(int ranks, ReduceAlgorithm algorithm, int root = 0);

struct CollectiveOptions {
  ReduceAlgorithm algorithm = ReduceAlgorithm::Tree;
  std::size_t chunk_bytes = std::size_t{1} << 20;
  // A reduce edge between devices that can address each other's memory (CPU
  // devices, one GPU, GPUs with peer access) is one add in place: no scratch,
  // no chunks, 3 bytes of traffic per byte summed instead of 5. false forces
  // the chunked copy + add (--edge copy).
  bool direct_reads = true;
};

// Time a root's compute stream spent communicating; read after synchronizing.
class CommClock {
 public:
  void add(TimeMark begin, TimeMark end) { spans_.emplace_back(std::move(begin), std::move(end)); }
  double take_ms();
  void discard() { spans_.clear(); }

 private:
  std::vector<std::pair<TimeMark, TimeMark>> spans_;
};

class Collectives {
 public:
  Collectives(DeviceGroup& group, CollectiveOptions options, Tracer* tracer = nullptr,
              CommClock* clock = nullptr);

  void reduce(const std::vector<float*>& buffers, int64_t n, int root = 0);
  void broadcast(const std::vector<float*>& buffers, int64_t n, int root = 0);
  void all_reduce(const std::vector<float*>& buffers, int64_t n);

  // Buckets: the trainers overlap communication with compute, one layer's
  // slice of the flat buffers at a time. Each works on the n elements at
  // buffers[r] + offset and runs entirely on the copy streams, so that the
  // compute streams go on at once (with the layers below in backward, the
  // layers above in forward):
  //   reduce_bucket / all_reduce_bucket  start on rank r once ready[r] (an
  //       event the caller recorded on r's compute stream) has completed; the
  //       result is on rank 0 (reduce) or everywhere (all_reduce);
  //   broadcast_bucket  rank 0's elements to every rank, after the work queued
  //       so far on rank 0's compute stream and the receiver's.
  // Work queued on rank r's copy stream after a bucket call sees its result
  // there. The caller neither writes those elements nor reads the result on a
  // compute stream before join(), which makes each participant's compute
  // stream wait for all of its copy stream's work; the time rank 0's compute
  // stream waits there is the step's exposed communication.
  void reduce_bucket(const std::vector<float*>& buffers, int64_t offset, int64_t n,
                     const std::vector<Event*>& ready);
  void all_reduce_bucket(const std::vector<float*>& buffers, int64_t offset, int64_t n,
                         const std::vector<Event*>& ready);
  void broadcast_bucket(const std::vector<float*>& buffers, int64_t offset, int64_t n);
  void join(int ranks);

  // A bucket cut into one part per rank (part_of), part q's work queued on
  // rank q's COMPUTE stream; every rank must address every other's memory
  // (collectives_parts.cpp, and parallel_trainer.h for when the trainers do it):
  //   reduce_part     after every ready event: each edge of the reduce, level by
  //       level, over part q: the sums and their order of reduce_bucket;
  //   broadcast_part  part q of rank 0's elements to every other rank, after the
  //       work queued so far on rank q's compute stream (the caller orders it
  //       after the writes of the sender and the reads of the receivers).
  static Range part_of(int64_t n, int ranks, int q);
  void reduce_part(const std::vector<float*>& buffers, int64_t offset, int64_t n, int q,
                   const std::vector<Event*>& ready, const char* phase);
  void broadcast_part(const std::vector<float*>& buffers, int64_t offset, int64_t n, int q,
                      const char* phase);

  const CollectiveOptions& options() const { return options_; }
  void set_tracer(Tracer* tracer) { tracer_ = tracer; }

 private:
  struct Scratch {
    Buffer<float> slots[2];
    std::vector<Event> freed;  // freed[slot]: its last add has run
    int next = 0;
  };
  class Phase;

  void check(const std::vector<float*>& buffers, int64_t n, int root, const char* what) const;
  Scratch& scratch_for(int rank, int64_t elements);
  void run_reduce(const std::vector<float*>& buffers, int64_t n, int root, const char* phase);
  void run_broadcast(const std::vector<float*>& buffers, int64_t n, int root, const char* phase);
  void copy_and_add(const Edge& edge, float* sum, const float* part, int64_t n, Stream& adder,
                    const char* phase);
  void receive_and_add(const Edge& edge, const std::vector<float*>& buffers, int64_t n,
                       const char* phase);
  void add_in_place(const Edge& edge, const std::vector<float*>& buffers, int64_t n,
                    const char* phase);
  void bucket_edge(const Edge& edge, float* sum, const float* part, int64_t n,
                   const std::vector<Event*>& ready, std::vector<int>& last_writer, bool push,
                   const char* phase);
  void run_bucket(const std::vector<float*>& buffers, int64_t offset, int64_t n,
                  const std::vector<Event*>& ready, bool broadcast);
  bool direct(const Edge& edge);
  void check_part(const std::vector<float*>& buffers, int64_t n, int q, const char* what) const;
  template <class Enqueue>
  void on_part(int q, const char* name, const TraceArgs& args, Enqueue&& enqueue);

  DeviceGroup& group_;
  CollectiveOptions options_;
  Tracer* tracer_;
  CommClock* clock_;
  int64_t chunk_elements_;
  std::vector<std::unique_ptr<Scratch>> scratch_;  // per rank, made on first receive
};

}  // namespace cudp
