// See bucket_plan.h.
#include "parallel/bucket_plan.h"

#include <algorithm>

#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

namespace {

// Each layer's parameter tensors, from the named parameters' offsets.
std::vector<std::vector<int64_t>> tensor_sizes(const Sequential& net) {
  std::vector<std::vector<int64_t>> sizes;
  const auto& named = net.named_params();
  std::size_t t = 0;
  int64_t end = 0;
  for (const auto& layer : net.layers()) {
    end += layer->param_count();
    sizes.emplace_back();
    for (; t < named.size() && named[t].offset < end; ++t) sizes.back().push_back(named[t].numel());
  }
  return sizes;
}

std::vector<std::vector<int64_t>> one_tensor_each(const std::vector<int64_t>& layer_sizes) {
  std::vector<std::vector<int64_t>> sizes;
  for (const int64_t n : layer_sizes) sizes.push_back(n ? std::vector<int64_t>{n} : std::vector<int64_t>{});
  return sizes;
}

void add_once(std::vector<int>& ids, int id) {
  if (ids.empty() || ids.back() != id) ids.push_back(id);
}

}  // namespace

std::vector<std::vector<int>> reducer_buckets(const std::vector<int64_t>& tensor_floats,
                                              std::size_t first_bytes, std::size_t cap_bytes) {
  std::vector<std::vector<int>> buckets;
  std::vector<int> open;
  std::size_t bytes = 0, limit = first_bytes;
  for (int i = static_cast<int>(tensor_floats.size()); i-- > 0;) {
    open.push_back(i);
    bytes += static_cast<std::size_t>(tensor_floats[static_cast<std::size_t>(i)]) * 4;
    if (bytes >= limit) {
      buckets.push_back(std::move(open));
      open.clear();
      bytes = 0;
      limit = cap_bytes;
    }
  }
  if (!open.empty()) buckets.push_back(std::move(open));
  return buckets;
}

PlanOptions textbook_options(PlanOptions options, bool ddp) {
  options.textbook = true;
  options.bucketing = ddp ? Bucketing::Reducer : Bucketing::Whole;
  if (!ddp) options.direct_reads = false;  // nn.DataParallel's reduce: .to(), then add
  return options;
}

std::string describe_buckets(const BucketPlan& plan, const Sequential& net) {
  std::string text;
  const auto& named = net.named_params();
  for (auto b = plan.buckets().rbegin(); b != plan.buckets().rend(); ++b) {
    text += text.empty() ? "[" : " [";
    bool first = true;
    for (auto p = named.rbegin(); p != named.rend(); ++p) {
      if (p->numel() == 0 || p->offset < b->offset || p->offset >= b->offset + b->count) continue;
      text += (first ? "" : " ") + p->name;
      first = false;
    }
    text += "]";
  }
  return text;
}

InterProcess parse_inter_process(const std::string& text) {
  if (text == "tree") return InterProcess::Tree;
  if (text == "allreduce") return InterProcess::Allreduce;
  fail_parameter("inter", "expected tree or allreduce, found '", text, "'");
}

const char* inter_process_name(InterProcess inter) {
  return inter == InterProcess::Tree ? "tree" : "allreduce";
}

BucketPlan::BucketPlan(const Sequential& net, const DeviceGroup& group, PlanOptions options)
    : BucketPlan(tensor_sizes(net), group, options) {}

BucketPlan::BucketPlan(const std::vector<int64_t>& layer_sizes, const DeviceGroup& group,
                       PlanOptions options)
    : BucketPlan(one_tensor_each(layer_sizes), group, options) {}

BucketPlan::BucketPlan(const std::vector<std::vector<int64_t>>& tensor_sizes,
                       const DeviceGroup& group, PlanOptions options)
    : options_(options),
      chunk_elements_(std::max<int64_t>(1, static_cast<int64_t>(options.chunk_bytes / 4))) {
  if (options.chunk_bytes < 4)
    fail_parameter("chunk_bytes", "expected at least 4 bytes (one float), found ",
                   options.chunk_bytes);
  struct Tensor {
    int64_t offset, count;
    int layer;
  };
  std::vector<Tensor> tensors;  // forward order, none empty
  int64_t offset = 0;
  for (std::size_t l = 0; l < tensor_sizes.size(); ++l)
    for (const int64_t count : tensor_sizes[l]) {
      if (count < 0) fail("bucket plan: a tensor of ", count, " parameters in layer ", l);
      if (count > 0) tensors.push_back({offset, count, static_cast<int>(l)});
      offset += count;
    }
  // Each bucket as a run [first, last) of tensors, in forward order.
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  if (options.bucketing == Bucketing::Whole && !tensors.empty()) runs.push_back({0, tensors.size()});
  if (options.bucketing == Bucketing::Layers)
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      if (runs.empty() || tensors[runs.back().first].layer != tensors[t].layer)
        runs.push_back({t, t + 1});
      else
        runs.back().second = t + 1;
    }
  if (options.bucketing == Bucketing::Reducer) {
    std::vector<int64_t> floats;
    for (const Tensor& t : tensors) floats.push_back(t.count);
    // Filled last first, so each bucket is a descending run; forward order is the reverse.
    for (const auto& bucket : reducer_buckets(floats, options.first_bucket_bytes,
                                              options.bucket_cap_bytes))
      runs.insert(runs.begin(), {static_cast<std::size_t>(bucket.back()),
                                 static_cast<std::size_t>(bucket.front()) + 1});
  }
  of_layer_.resize(tensor_sizes.size());
  ready_after_.resize(tensor_sizes.size());
  for (const auto& [first, last] : runs) {
    const int id = static_cast<int>(buckets_.size());
    const int64_t begin = tensors[first].offset;
    buckets_.push_back({id, begin, tensors[last - 1].offset + tensors[last - 1].count - begin});
    for (std::size_t t = first; t < last; ++t)
      add_once(of_layer_[static_cast<std::size_t>(tensors[t].layer)], id);
    // Backward runs last layer first: the bucket is whole after its first tensor's layer.
    ready_after_[static_cast<std::size_t>(tensors[first].layer)].push_back(id);
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
  if (ranks < 2 || bucket.count < options_.split_bucket_floats || !options_.direct_reads ||
      options_.textbook || options_.algorithm == ReduceAlgorithm::Ring)
    return Route::Whole;
  for (int q = 1; q < ranks; ++q)
    if (!shares_root_[static_cast<std::size_t>(q)]) return Route::Whole;
  return Route::Parts;
}

Range BucketPlan::part(const Bucket& bucket, int ranks, int q) const {
  return split_range(bucket.count, ranks, q);
}

Range BucketPlan::ring_slice(const Bucket& bucket, int ranks, int c) const {
  const Range s = split_range(whole_.count, ranks, c);
  const int64_t begin = std::max(s.begin, bucket.offset);
  const int64_t end = std::min(s.end, bucket.offset + bucket.count);
  if (begin >= end) return {0, 0};
  return {begin - bucket.offset, end - bucket.offset};
}

bool BucketPlan::net_parts(const Bucket& bucket) const {
  return across_processes_ && options_.inter == InterProcess::Tree && !options_.textbook &&
         options_.algorithm != ReduceAlgorithm::Ring && bucket.count >= options_.split_bucket_floats;
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
  if (options_.textbook) {  // optimizer.step(): one piece, on the owner's own stream
    pieces.push_back({owner, Lane::Compute, bucket.offset, bucket.count});
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
