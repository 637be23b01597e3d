// The ring (--reduce ring, parallel/reduce_order.h) on the Whole route: each
// hop of a step runs on the RECEIVER's copy stream, over one slice:
//   reduce-scatter  r.copy: buffer[r][slice] += buffer[r-1][slice]
//                   (a direct add in place, or staged: copy then add, chunk by
//                   chunk, as a tree edge with --edge copy)
//   all-gather      r.copy: copy buffer[r-1][slice] into buffer[r][slice]
//   gather (dp)     rank 0's copy stream: copy each slice from its owner
// A hop of step s waits for its sender's copy stream, which by then holds the
// sender's hop of step s-1: the waits of a step are all queued before its
// hops, so no hop waits for a hop of its own step. Between the two phases
// every copy stream waits for every other: an all-gather hop overwrites a
// slice that a slower rank's reduce-scatter may still be reading.
//
// The slices are the whole buffer's (BucketPlan::ring_slice), each bucket
// moving its share of each: a bucket inside one slice goes round as a chain.
// The decision a reader would get wrong: the sum of slice c is taken in the
// ring's order whatever runs it, so the bits depend only on M (not on the
// bucketing, not on --textbook), and the Net route (communicator_net.cpp)
// gives them across processes.
#include <cstring>

#include "kernels/axpy.h"
#include "parallel/communicator.h"
#include "parallel/net_spans.h"
#include "runtime/copy.h"
#include "runtime/thread_pool.h"

namespace cudp {

namespace {
const char* ring_phase_name(RingPhase phase) {
  switch (phase) {
    case RingPhase::ReduceScatter:
      return "reduce_scatter";
    case RingPhase::AllGather:
      return "all_gather";
    case RingPhase::Gather:
      return "gather";
  }
  return "?";
}
}  // namespace

void Communicator::reduce_ring(const Bucket& bucket, const std::vector<float*>& buffers,
                               const std::vector<Event*>& ready, bool all_reduce) {
  const int ranks = static_cast<int>(buffers.size());
  auto slice = [&](int c) { return plan_.ring_slice(bucket, ranks, c); };
  auto at = [&](int r, const Range& s) {
    return buffers[static_cast<std::size_t>(r)] + bucket.offset + s.begin;
  };
  // Step 0 reads the sender's own gradients: both ends' backward must be done.
  for (int r = 0; r < ranks; ++r) {
    Stream& s = group_[r].copy;
    s.wait(*ready[static_cast<std::size_t>(r)]);
    s.wait(*ready[static_cast<std::size_t>((r + ranks - 1) % ranks)]);
  }
  // Each step: first every hop's wait for its sender, then the hops (of a
  // non-empty slice) themselves.
  auto run_steps = [&](RingPhase phase, auto&& hop) {
    bool first = true;
    for (const auto& step : ring_steps(ranks, phase)) {
      if (!first)
        for (const SliceEdge& h : step) group_[h.to].copy.wait_for(group_[h.from].copy);
      first = false;
      for (const SliceEdge& h : step) {
        const Range s = slice(h.slice);
        if (s.end > s.begin) hop(h, s, s.end - s.begin, ring_phase_name(phase));
      }
    }
  };
  run_steps(RingPhase::ReduceScatter, [&](const SliceEdge& h, const Range& s, int64_t len,
                                          const char* phase) {
    float* const sum = at(h.to, s);
    const float* const part = at(h.from, s);
    const Bucket piece{bucket.id, bucket.offset + s.begin, len};
    Stream& runs = group_[h.to].copy;
    if (!plan_.direct(h.to, h.from))
      return copy_and_add(Edge{h.to, h.from}, piece, sum, part, runs, phase);
    const Context ctx = runs.context();
    traced(tracer_, clock_, runs, h.to, Lane::Copy, "peer_add",
           slice_args(bucket.id, piece.offset, len, h.from, h.to, phase),
           [&] { runs.enqueue([ctx, len, part, sum] { axpy(ctx, len, 1.0f, part, sum); }); });
  });
  for (int r = 0; r < ranks; ++r)
    for (int q = 0; q < ranks; ++q)
      if (q != r) group_[r].copy.wait_for(group_[q].copy);
  run_steps(all_reduce ? RingPhase::AllGather : RingPhase::Gather,
            [&](const SliceEdge& h, const Range& s, int64_t len, const char* phase) {
              LogicalDevice& to = group_[h.to];
              traced(tracer_, clock_, to.copy, h.to, Lane::Copy, "copy",
                     slice_args(bucket.id, bucket.offset + s.begin, len, h.from, h.to, phase), [&] {
                       copy_async(to.copy, at(h.to, s), to.device, at(h.from, s),
                                  group_[h.from].device, static_cast<std::size_t>(len) * 4);
                     });
            });
  Outcome& o = outcomes_[static_cast<std::size_t>(bucket.id)];
  if (!all_reduce) return group_[0].copy.record(event(o.reduced, 0));
  for (int r = 0; r < ranks; ++r) group_[r].copy.record(event(o.reduced, r));
}

// The Net route's ring over every global device: a hop between two devices
// of this process is the add or copy above, one to or from another process a
// transfer of the slice (received into staging, then added, in the
// reduce-scatter); a step's transfers are posted and waited for together.
void Communicator::net_ring(const Bucket& bucket, const std::vector<float*>& at, int tag,
                            bool all_gather, NetSpans& spans) {
  const DeviceLayout& layout = group_.layout();
  ProcessGroup& processes = group_.processes();
  const Context host{cpu_device(0)};
  const int ranks = layout.total();
  auto local = [&](int global, const Range& s) {
    return at[static_cast<std::size_t>(layout.local_index(global))] + s.begin;
  };
  for (const auto& step : ring_steps(ranks, RingPhase::ReduceScatter)) {
    std::vector<Transfer> transfers;
    struct Add {
      float* sum;
      const float* received;
      int64_t len;
    };
    std::vector<Add> adds;
    int64_t added = 0;
    for (const SliceEdge& h : step) {
      const Range s = plan_.ring_slice(bucket, ranks, h.slice);
      const int64_t len = s.end - s.begin;
      const std::size_t bytes = static_cast<std::size_t>(len) * 4;
      const bool to = layout.mine(h.to), from = layout.mine(h.from);
      if (len == 0 || (!to && !from)) continue;
      if (to && from) {
        axpy(host, len, 1.0f, local(h.from, s), local(h.to, s));
      } else if (from) {
        transfers.push_back({layout.owner(h.to), tag, local(h.from, s), bytes, true});
      } else {
        float* received = staging(adds.size(), len);
        transfers.push_back({layout.owner(h.from), tag, received, bytes, false});
        adds.push_back({local(h.to, s), received, len});
        added += len * 4;
      }
    }
    spans.exchange(processes, transfers, "reduce_scatter");
    if (adds.empty()) continue;
    spans.adds(added, "reduce_scatter", [&] {
      for (const Add& a : adds) axpy(host, a.len, 1.0f, a.received, a.sum);
    });
  }
  const RingPhase out = all_gather ? RingPhase::AllGather : RingPhase::Gather;
  for (const auto& step : ring_steps(ranks, out)) {
    std::vector<Transfer> transfers;
    for (const SliceEdge& h : step) {
      const Range s = plan_.ring_slice(bucket, ranks, h.slice);
      const std::size_t bytes = static_cast<std::size_t>(s.end - s.begin) * 4;
      const bool to = layout.mine(h.to), from = layout.mine(h.from);
      if (bytes == 0 || (!to && !from)) continue;
      if (to && from)
        std::memcpy(local(h.to, s), local(h.from, s), bytes);
      else if (from)
        transfers.push_back({layout.owner(h.to), tag, local(h.from, s), bytes, true});
      else
        transfers.push_back({layout.owner(h.from), tag, local(h.to, s), bytes, false});
    }
    spans.exchange(processes, transfers, ring_phase_name(out));
  }
}

}  // namespace cudp
