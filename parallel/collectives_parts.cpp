// Buckets cut into parts, one per rank, on the compute streams (see
// collectives.h): the reduce and broadcast of a big bucket when every rank can
// address every other's memory and the copy streams would compete with compute
// for the same cores (CPU devices: a stream is a thread).
//
// The decision a reader would get wrong: a part runs every edge of the reduce,
// level by level, over its own elements, so each element sees the same adds in
// the same order as reduce_bucket: cutting a bucket changes no bit.
#include "kernels/axpy.h"
#include "parallel/collectives.h"
#include "runtime/copy.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace cudp {

Range Collectives::part_of(int64_t n, int ranks, int q) { return split_range(n, ranks, q); }

void Collectives::check_part(const std::vector<float*>& buffers, int64_t n, int q,
                             const char* what) const {
  check(buffers, n, 0, what);
  const int ranks = static_cast<int>(buffers.size());
  if (q < 0 || q >= ranks)
    fail(what, ": part ", q, " of a bucket cut into ", ranks, " parts does not exist");
  for (int r = 1; r < ranks; ++r)
    if (!direct_access(group_[r].device, group_[0].device) ||
        !direct_access(group_[0].device, group_[r].device))
      fail(what, ": parts need every rank to address the others' memory; ", group_[r].name(),
           " and ", group_[0].name(), " cannot (",
           peer_path_name(peer_path(group_[r].device, group_[0].device)), ")");
}

// Queues `enqueue()` on rank q's compute stream as a traced span, counted as
// communication when rank 0's compute stream runs it.
template <class Enqueue>
void Collectives::on_part(int q, const char* name, const TraceArgs& args, Enqueue&& enqueue) {
  Stream& s = group_[q].compute;
  TimeMark begin;
  if (clock_ && q == 0) begin = s.mark();
  traced(tracer_, s, q, Lane::Compute, name, args, enqueue);
  if (begin.valid()) clock_->add(begin, s.mark());
}

void Collectives::reduce_part(const std::vector<float*>& buffers, int64_t offset, int64_t n, int q,
                              const std::vector<Event*>& ready, const char* phase) {
  check_part(buffers, n, q, phase);
  if (ready.size() != buffers.size())
    fail(phase, ": expected one ready event per buffer (", buffers.size(), "), found ",
         ready.size());
  const int ranks = static_cast<int>(buffers.size());
  Stream& s = group_[q].compute;
  for (Event* e : ready) s.wait(*e);
  const Range part = part_of(n, ranks, q);
  const int64_t len = part.end - part.begin;
  if (len == 0) return;
  const Context ctx = s.context();
  for (const auto& level : reduce_levels(ranks, options_.algorithm, 0))
    for (const Edge& edge : level) {
      float* const sum = buffers[static_cast<std::size_t>(edge.to)] + offset + part.begin;
      const float* const from = buffers[static_cast<std::size_t>(edge.from)] + offset + part.begin;
      on_part(q, "peer_add", {len * 4, edge.from, edge.to, phase},
              [&] { s.enqueue([ctx, len, from, sum] { axpy(ctx, len, 1.0f, from, sum); }); });
    }
}

void Collectives::broadcast_part(const std::vector<float*>& buffers, int64_t offset, int64_t n,
                                 int q, const char* phase) {
  check_part(buffers, n, q, phase);
  const int ranks = static_cast<int>(buffers.size());
  const Range part = part_of(n, ranks, q);
  const std::size_t bytes = static_cast<std::size_t>(part.end - part.begin) * 4;
  if (bytes == 0) return;
  Stream& s = group_[q].compute;
  const float* const root = buffers[0] + offset + part.begin;
  for (int r = 1; r < ranks; ++r)
    on_part(q, "copy", {static_cast<int64_t>(bytes), 0, r, phase}, [&] {
      copy_async(s, buffers[static_cast<std::size_t>(r)] + offset + part.begin, group_[r].device,
                 root, group_[0].device, bytes);
    });
}

}  // namespace cudp
