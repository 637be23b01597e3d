// See bucket_plan.h.
#include "parallel/bucket_plan.h"

#include <algorithm>

#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

namespace {
std::vector<int64_t> layer_sizes(const Sequential& net) {
  std::vector<int64_t> sizes;
  for (const auto& layer : net.layers()) sizes.push_back(layer->param_count());
  return sizes;
}
}  // namespace

InterProcess parse_inter_process(const std::string& text) {
  if (text == "tree") return InterProcess::Tree;
  if (text == "allreduce") return InterProcess::Allreduce;
  fail_parameter("inter", "expected tree or allreduce, found '", text, "'");
}

const char* inter_process_name(InterProcess inter) {
  return inter == InterProcess::Tree ? "tree" : "allreduce";
}

BucketPlan::BucketPlan(const Sequential& net, const DeviceGroup& group, PlanOptions options)
    : BucketPlan(layer_sizes(net), group, options) {}

BucketPlan::BucketPlan(const std::vector<int64_t>& layer_sizes, const DeviceGroup& group,
                       PlanOptions options)
    : options_(options),
      chunk_elements_(std::max<int64_t>(1, static_cast<int64_t>(options.chunk_bytes / 4))) {
  if (options.chunk_bytes < 4)
    fail_parameter("chunk_bytes", "expected at least 4 bytes (one float), found ",
                   options.chunk_bytes);
  int64_t offset = 0;
  for (const int64_t count : layer_sizes) {
    if (count < 0) fail("bucket plan: a layer of ", count, " parameters");
    bucket_of_layer_.push_back(count > 0 ? static_cast<int>(buckets_.size()) : -1);
    if (count > 0) buckets_.push_back({static_cast<int>(buckets_.size()), offset, count});
    offset += count;
  }
  whole_ = {static_cast<int>(buckets_.size()), 0, offset};
  across_processes_ = group.spans_processes();
  const int ranks = group.size();
  direct_.assign(static_cast<std::size_t>(ranks),
                 std::vector<bool>(static_cast<std::size_t>(ranks)));
  for (int to = 0; to < ranks; ++to)
    for (int from = 0; from < ranks; ++from)
      direct_[to][from] =
          options.direct_reads && direct_access(group[to].device, group[from].device);
  for (int q = 0; q < ranks; ++q) {
    const PeerPath path = peer_path(group[q].device, group[0].device);
    shares_root_.push_back(path == PeerPath::HostMemcpy || path == PeerPath::SameGpu);
  }
}

Route BucketPlan::route(const Bucket& bucket, int ranks) const {
  if (across_processes_) return Route::Net;
  if (ranks < 2 || bucket.count < options_.split_bucket_floats || !options_.direct_reads)
    return Route::Whole;
  for (int q = 1; q < ranks; ++q)
    if (!shares_root_[static_cast<std::size_t>(q)]) return Route::Whole;
  return Route::Parts;
}

Range BucketPlan::part(const Bucket& bucket, int ranks, int q) const {
  return split_range(bucket.count, ranks, q);
}

bool BucketPlan::net_parts(const Bucket& bucket) const {
  return across_processes_ && options_.inter == InterProcess::Tree &&
         bucket.count >= options_.split_bucket_floats;
}

bool BucketPlan::direct(int to, int from) const {
  return direct_.at(static_cast<std::size_t>(to)).at(static_cast<std::size_t>(from));
}

std::vector<SgdPiece> BucketPlan::sgd_pieces(const Bucket& bucket, int ranks, int owner) const {
  std::vector<SgdPiece> pieces;
  if (route(bucket, ranks) == Route::Parts) {
    for (int q = 0; q < ranks; ++q) {
      const Range r = part(bucket, ranks, q);
      pieces.push_back({q, Lane::Compute, bucket.offset + r.begin, r.end - r.begin});
    }
    return pieces;
  }
  if (ranks == 1 || bucket.count < options_.split_bucket_floats) {
    pieces.push_back({owner, Lane::Copy, bucket.offset, bucket.count});
    return pieces;
  }
  // SGD is elementwise: where a piece runs changes no bit.
  const int64_t half = bucket.count / 2;
  pieces.push_back({owner, Lane::Copy, bucket.offset, half});
  pieces.push_back({owner, Lane::Compute, bucket.offset + half, bucket.count - half});
  return pieces;
}

}  // namespace cudp
