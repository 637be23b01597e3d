// The Parts route of the Communicator (see bucket_plan.h for when the plan
// takes it): a bucket cut into one part per rank, part q's share of every
// edge queued on rank q's COMPUTE stream. Every rank addresses every other's
// memory in place, so there is no copy stream, no scratch and no chunk.
//
// The decision a reader would get wrong: part q runs every edge of the reduce
// order, level by level, over its own elements, so each element sees the same
// adds in the same order as the Whole route: cutting a bucket changes no bit.
// A broadcast in parts is ordered after rank q's own compute stream only: the
// trainers broadcast at a step's start, with the group idle.
#include "kernels/axpy.h"
#include "parallel/communicator.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

// Queues `enqueue()` on rank q's compute stream as a traced span, counted as
// movement when rank 0's compute stream runs it.
template <class Enqueue>
void Communicator::on_compute(int q, const char* name, const TraceArgs& args, Enqueue&& enqueue) {
  traced(tracer_, clock_, group_[q].compute, q, Lane::Compute, name, args, enqueue);
}

void Communicator::reduce_parts(const Bucket& bucket, const std::vector<float*>& buffers,
                                const std::vector<Event*>& ready, bool all_reduce) {
  const char* phase = all_reduce ? "all_reduce" : "reduce";
  const int ranks = static_cast<int>(buffers.size());
  Outcome& o = outcomes_[static_cast<std::size_t>(bucket.id)];
  for (int q = 0; q < ranks; ++q) {
    Stream& s = group_[q].compute;
    for (Event* e : ready) s.wait(*e);
    const Range part = plan_.part(bucket, ranks, q);
    const int64_t len = part.end - part.begin;
    const int64_t at = bucket.offset + part.begin;
    const Context ctx = s.context();
    if (len > 0)
      for (const auto& level : reduce_levels(ranks, plan_.algorithm(), 0))
        for (const Edge& e : level) {
          float* const sum = buffers[static_cast<std::size_t>(e.to)] + at;
          const float* const from = buffers[static_cast<std::size_t>(e.from)] + at;
          on_compute(q, "peer_add", slice_args(bucket.id, at, len, e.from, e.to, phase), [&] {
            s.enqueue([ctx, len, from, sum] { axpy(ctx, len, 1.0f, from, sum); });
          });
        }
    if (all_reduce) broadcast_part(bucket, buffers, q, phase);
    s.record(event(o.reduced, q));
  }
}

void Communicator::broadcast_part(const Bucket& bucket, const std::vector<float*>& buffers, int q,
                                  const char* phase) {
  const int ranks = static_cast<int>(buffers.size());
  const Range part = plan_.part(bucket, ranks, q);
  const std::size_t bytes = static_cast<std::size_t>(part.end - part.begin) * 4;
  if (bytes == 0) return;
  Stream& s = group_[q].compute;
  const int64_t at = bucket.offset + part.begin;
  const float* const root = buffers[0] + at;
  for (int r = 1; r < ranks; ++r)
    on_compute(q, "copy", slice_args(bucket.id, at, part.end - part.begin, 0, r, phase), [&] {
      copy_async(s, buffers[static_cast<std::size_t>(r)] + at, group_[r].device, root,
                 group_[0].device, bytes);
    });
}

}  // namespace cudp
