// BucketPlan: how each bucket of the flat buffers moves, decided in one place.
//
// Buckets are one per layer with parameters (its slice of the flat parameter
// and gradient buffers, in forward order; backward produces them last first),
// and whole(): the whole buffer as one more bucket (ddp's first broadcast, dp's
// evaluation, the benchmarks). For a bucket over M participating ranks:
//   route   Whole  each edge of the reduce order (parallel/reduce_order.h) runs
//                  on ONE copy stream: the compute streams go on with the layers
//                  below in backward (or above, in forward).
//           Net    the group spans processes (device_group.h): the bucket goes
//                  to the communicator's net stream, which runs the SAME reduce
//                  order over the global devices, each edge a local add when
//                  both ends are in this process and a point-to-point transfer
//                  between processes otherwise (communicator_net.cpp); an
//                  all-reduce of split_bucket_floats or more in parts, each
//                  process summing 1/P of the elements (net_schedule.h); a
//                  ring's hops the same way, each local or a transfer.
//           Parts  M ranks that all address each other's memory in place (CPU
//                  devices; logical devices on one GPU), a bucket of
//                  split_bucket_floats or more, direct reads, tree or star (a
//                  ring is already cut, one slice per rank): the bucket is cut
//                  into M parts and rank q's COMPUTE stream does part q of every
//                  edge. On CPU devices a copy stream is one more thread on the
//                  same cores: it took a core from one replica at a time, which
//                  fell behind while the others waited. Parts gave the last
//                  speedups on 2 cores; they change no bit (every element sees
//                  the same adds in the same order).
//   edge    direct (direct_reads, and the two devices address each other's
//           memory): one add in place, 3 bytes of traffic per byte summed; a
//           reduce's is pushed by the sender's copy stream (every rank but the
//           root does one add), an all-reduce's pulled by the receiver's.
//           Otherwise staged: the receiver's copy stream copies chunk_elements()
//           at a time into two scratch slots and adds each (--edge copy).
//   sgd     where each piece of an optimizer's update runs: Parts, part q of
//           every optimizer on q's compute stream; Whole, on the owner's copy
//           stream, in halves (the second on its compute stream, after its
//           backward) when the bucket is big and there are several ranks.
// Textbook (PlanOptions::textbook, --textbook): the step as PyTorch runs it, as
// one choice of this plan, the trainers unchanged:
//   dp   Bucketing::Whole, one bucket: replicate broadcasts the whole parameter
//        buffer, the one reduce waits for the whole backward, staged edges (the
//        receiver's .to() then add), SGD on the first device in one piece
//   ddp  Bucketing::Reducer, PyTorch's reducer buckets (reducer_buckets()), each
//        all-reduced once its last gradient is ready, SGD in one piece per replica
//   both no Parts route, no parts across processes, no SGD in halves.
// The decision a reader would get wrong: the plan changes only WHERE work runs,
// never which sums are taken in which order; the trainers and the communicator
// ask it and never branch on machine details themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/sequential.h"
#include "parallel/device_group.h"
#include "parallel/reduce_order.h"
#include "parallel/trace.h"
#include "runtime/thread_pool.h"

namespace cudp {

// Across processes: the global reduce order (tree or star, bitwise one
// process's), or a local reduce, MPI's own all-reduce, a local broadcast.
enum class InterProcess { Tree, Allreduce };
// "tree" or "allreduce"; otherwise a ParameterError for "inter".
InterProcess parse_inter_process(const std::string& text);
const char* inter_process_name(InterProcess inter);

// Layers: one bucket per layer with parameters; Whole: one bucket; Reducer:
// PyTorch DDP's, from bucket_cap_bytes and first_bucket_bytes.
enum class Bucketing { Layers, Whole, Reducer };

struct PlanOptions {
  ReduceAlgorithm algorithm = ReduceAlgorithm::Tree;
  std::size_t chunk_bytes = std::size_t{1} << 20;  // a staged edge's chunk
  // false forces staged edges (--edge copy) and so no parts.
  bool direct_reads = true;
  // With several ranks, a bucket of this many floats or more (seed-pool's fc1)
  // goes in parts or has its SGD in halves.
  int64_t split_bucket_floats = int64_t{1} << 18;
  InterProcess inter = InterProcess::Tree;
  bool textbook = false;  // see above; make_parallel_trainer picks the bucketing
  Bucketing bucketing = Bucketing::Layers;
  std::size_t bucket_cap_bytes = std::size_t{25} << 20;  // --bucket-cap-mb, PyTorch's 25
  std::size_t first_bucket_bytes = std::size_t{1} << 20;  // dist._DEFAULT_FIRST_BUCKET_BYTES
};

// PyTorch's bucket assignment as DDP's reducer rebuilds it in gradient-ready
// order (torch.distributed._compute_bucket_assignment_by_size): the tensors
// taken LAST FIRST, each added to the open bucket, which closes once it holds
// at least its limit (first_bytes for the first bucket, cap_bytes after).
// Returns the buckets in the order filled, each its tensor indices as taken.
std::vector<std::vector<int>> reducer_buckets(const std::vector<int64_t>& tensor_floats,
                                              std::size_t first_bytes, std::size_t cap_bytes);
// The PlanOptions of --textbook for dp (ddp = false) or ddp.
PlanOptions textbook_options(PlanOptions options, bool ddp);

struct Bucket {
  int id = 0;  // 0..buckets()-1 in forward order; whole() is the last id
  int64_t offset = 0, count = 0;
};

enum class Route { Whole, Parts, Net };

struct SgdPiece {
  int runner = 0;  // the rank whose stream runs it
  Lane lane = Lane::Copy;
  int64_t offset = 0, count = 0;  // in the flat buffer
};

class BucketPlan;
// The plan's buckets in the order backward fills them, each its tensors' names
// in the order their gradients are written: "[fc2.bias fc2.weight] [conv1.bias]".
std::string describe_buckets(const BucketPlan& plan, const Sequential& net);

class BucketPlan {
 public:
  BucketPlan(const Sequential& net, const DeviceGroup& group, PlanOptions options);
  // Buckets of these sizes laid end to end (a 0 is a layer without parameters),
  // each layer one tensor.
  BucketPlan(const std::vector<int64_t>& layer_sizes, const DeviceGroup& group,
             PlanOptions options);
  // tensor_sizes[l]: layer l's parameter tensors in order (none: no parameters).
  BucketPlan(const std::vector<std::vector<int64_t>>& tensor_sizes, const DeviceGroup& group,
             PlanOptions options);

  const PlanOptions& options() const { return options_; }
  ReduceAlgorithm algorithm() const { return options_.algorithm; }
  int64_t chunk_elements() const { return chunk_elements_; }

  const std::vector<Bucket>& buckets() const { return buckets_; }  // forward order
  const Bucket& whole() const { return whole_; }
  int ids() const { return static_cast<int>(buckets_.size()) + 1; }  // buckets and whole
  // The buckets holding some of the layer's parameters (forward waits for them),
  // and those whose last gradient this layer's backward writes (ready after it).
  const std::vector<int>& buckets_of_layer(std::size_t layer) const { return of_layer_.at(layer); }
  const std::vector<int>& ready_after_layer(std::size_t layer) const {
    return ready_after_.at(layer);
  }

  Route route(const Bucket& bucket, int ranks) const;
  Range part(const Bucket& bucket, int ranks, int q) const;  // Parts: rank q's elements
  // Ring: slice c of the WHOLE buffer (split_range over the ranks), cut to the
  // bucket, relative to its offset (empty where they do not meet). Slicing the
  // whole buffer, not each bucket, makes an element's order of adds depend on
  // its index alone, so the ring's bits do not change with the bucketing.
  Range ring_slice(const Bucket& bucket, int ranks, int c) const;
  // Net route: an all-reduce of this bucket runs in parts, each process
  // summing 1/P of it (communicator_net.cpp); the same bits as the tree.
  bool net_parts(const Bucket& bucket) const;
  bool direct(int to, int from) const;  // an edge between these ranks adds in place
  std::vector<SgdPiece> sgd_pieces(const Bucket& bucket, int ranks, int owner) const;

 private:
  PlanOptions options_;
  int64_t chunk_elements_;
  std::vector<Bucket> buckets_;
  Bucket whole_;
  std::vector<std::vector<int>> of_layer_, ready_after_;  // [layer]: bucket ids
  std::vector<std::vector<bool>> direct_;  // [to][from]
  std::vector<bool> shares_root_;          // [q]: q reads rank 0's memory like its own
  bool across_processes_ = false;
};

}  // namespace cudp
