// Tree and star collectives (see collectives.h).
//
// One reduce edge, rank `to` pulling rank `from`'s buffer, chunk k in slot k%2:
//   to.copy:    wait freed[slot]   (the add that last read this slot is done)
//               copy_async chunk k -> scratch[slot]
//   to.compute: wait for to.copy   (chunk k has arrived)
//               axpy  buffer[to][chunk k] += scratch[slot]
//               record freed[slot]
// so the copy of chunk k+1 (other slot) runs while chunk k is added. Before its
// first chunk, to.copy waits for from.compute (from's partial sum is final);
// after its last, from.compute waits for to.copy (from may then overwrite it).
// A direct edge (GPUs that address each other's memory) is one kernel on
// to.compute, after from.compute: buffer[to] += buffer[from], read in place.
// A broadcast edge is one copy straight into the receiver's buffer, after the
// sender's data is complete and the receiver's compute stream is done with its own.
#include "parallel/collectives.h"

#include <algorithm>

#include "kernels/axpy.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

ReduceAlgorithm parse_reduce_algorithm(const std::string& text) {
  if (text == "tree") return ReduceAlgorithm::Tree;
  if (text == "star") return ReduceAlgorithm::Star;
  fail("--reduce: expected tree or star, found '", text, "'");
}

const char* reduce_algorithm_name(ReduceAlgorithm algorithm) {
  return algorithm == ReduceAlgorithm::Tree ? "tree" : "star";
}

std::vector<std::vector<Edge>> reduce_levels(int ranks, ReduceAlgorithm algorithm, int root) {
  auto real = [&](int v) { return (v + root) % ranks; };  // virtual rank 0 is the root
  std::vector<std::vector<Edge>> levels;
  if (algorithm == ReduceAlgorithm::Star) {
    for (int v = 1; v < ranks; ++v) levels.push_back({Edge{root, real(v)}});
    return levels;
  }
  for (int s = 1; s < ranks; s *= 2) {
    std::vector<Edge> level;
    for (int v = 0; v + s < ranks; v += 2 * s) level.push_back({real(v), real(v + s)});
    levels.push_back(level);
  }
  return levels;
}

std::vector<std::vector<Edge>> broadcast_levels(int ranks, ReduceAlgorithm algorithm, int root) {
  if (algorithm == ReduceAlgorithm::Star) {
    std::vector<Edge> level;
    for (int v = 1; v < ranks; ++v) level.push_back({(v + root) % ranks, root});
    return level.empty() ? std::vector<std::vector<Edge>>{} : std::vector<std::vector<Edge>>{level};
  }
  std::vector<std::vector<Edge>> levels = reduce_levels(ranks, algorithm, root);
  std::reverse(levels.begin(), levels.end());
  for (auto& level : levels)
    for (Edge& e : level) std::swap(e.to, e.from);
  return levels;
}

double CommClock::take_ms() {
  double total = 0;
  for (const auto& [begin, end] : spans_) total += elapsed_ms(begin, end);
  spans_.clear();
  return total;
}

// Marks a collective's span on every participant's compute lane (when tracing)
// and on the root's (for the communication clock).
class Collectives::Phase {
 public:
  Phase(Collectives& c, const char* name, int ranks, int root)
      : c_(c), name_(name), root_(root), begins_(static_cast<std::size_t>(ranks)) {
    for (int r = 0; r < ranks; ++r)
      if (c_.tracer_ || (c_.clock_ && r == root_)) begins_[r] = c_.group_[r].compute.mark();
  }
  void end() {
    for (int r = 0; r < static_cast<int>(begins_.size()); ++r) {
      if (!begins_[r].valid()) continue;
      TimeMark end = c_.group_[r].compute.mark();
      if (c_.clock_ && r == root_) c_.clock_->add(begins_[r], end);
      if (c_.tracer_) c_.tracer_->span(r, Lane::Compute, name_, begins_[r], end);
    }
  }

 private:
  Collectives& c_;
  const char* name_;
  int root_;
  std::vector<TimeMark> begins_;
};

Collectives::Collectives(DeviceGroup& group, CollectiveOptions options, Tracer* tracer,
                         CommClock* clock)
    : group_(group),
      options_(options),
      tracer_(tracer),
      clock_(clock),
      chunk_elements_(std::max<int64_t>(1, static_cast<int64_t>(options.chunk_bytes / 4))),
      scratch_(static_cast<std::size_t>(group.size())) {
  if (options.chunk_bytes < 4)
    fail("--chunk-bytes: expected at least 4 bytes (one float), found ", options.chunk_bytes);
}

void Collectives::check(const std::vector<float*>& buffers, int64_t n, int root,
                        const char* what) const {
  const int ranks = static_cast<int>(buffers.size());
  if (ranks < 1 || ranks > group_.size())
    fail(what, ": expected 1 to ", group_.size(), " buffers, found ", ranks);
  if (root < 0 || root >= ranks) fail(what, ": root ", root, " is not among ranks 0..", ranks - 1);
  if (n < 0) fail(what, ": expected a non-negative element count, found ", n);
}

Collectives::Scratch& Collectives::scratch_for(int rank, int64_t elements) {
  auto& slot = scratch_[static_cast<std::size_t>(rank)];
  const auto want = static_cast<std::size_t>(std::min(chunk_elements_, elements));
  if (!slot || slot->slots[0].size() < want) {
    // Growing would free memory that queued adds still read: let them finish first.
    if (slot) group_.synchronize();
    auto fresh = std::make_unique<Scratch>();
    const Device device = group_[rank].device;
    for (auto& buffer : fresh->slots) buffer = Buffer<float>(device, want);
    fresh->freed.emplace_back(device);
    fresh->freed.emplace_back(device);
    slot = std::move(fresh);
  }
  return *slot;
}

// The receiver's copy stream pulls `part` chunk by chunk into the two scratch
// slots; `adder` (the receiver's compute or copy stream) adds each chunk into
// `sum` and frees its slot.
void Collectives::copy_and_add(const Edge& edge, float* sum, const float* part, int64_t n,
                               Stream& adder, const char* phase) {
  LogicalDevice& to = group_[edge.to];
  const Device from_device = group_[edge.from].device;
  Scratch& scratch = scratch_for(edge.to, n);
  const Context ctx = adder.context();
  const Lane add_lane = &adder == &to.copy ? Lane::Copy : Lane::Compute;
  for (int64_t offset = 0; offset < n; offset += chunk_elements_) {
    const int64_t len = std::min(chunk_elements_, n - offset);
    const int slot = scratch.next;
    scratch.next ^= 1;
    float* const staged = scratch.slots[slot].data();
    to.copy.wait(scratch.freed[static_cast<std::size_t>(slot)]);
    traced(tracer_, to.copy, edge.to, Lane::Copy, "copy", {len * 4, edge.from, edge.to, phase},
           [&] {
             copy_async(to.copy, staged, to.device, part + offset, from_device,
                        static_cast<std::size_t>(len) * 4);
           });
    adder.wait_for(to.copy);
    float* const y = sum + offset;
    const TraceArgs add_args{-1, edge.from, edge.to, phase};  // which edge; moves no bytes
    traced(tracer_, adder, edge.to, add_lane, "add", add_args,
           [&] { adder.enqueue([ctx, len, staged, y] { axpy(ctx, len, 1.0f, staged, y); }); });
    adder.record(scratch.freed[static_cast<std::size_t>(slot)]);
  }
}

void Collectives::receive_and_add(const Edge& edge, const std::vector<float*>& buffers, int64_t n,
                                  const char* phase) {
  LogicalDevice& to = group_[edge.to];
  LogicalDevice& from = group_[edge.from];
  to.copy.wait_for(from.compute);
  copy_and_add(edge, buffers[static_cast<std::size_t>(edge.to)],
               buffers[static_cast<std::size_t>(edge.from)], n, to.compute, phase);
  from.compute.wait_for(to.copy);
}

void Collectives::add_in_place(const Edge& edge, const std::vector<float*>& buffers, int64_t n,
                               const char* phase) {
  LogicalDevice& to = group_[edge.to];
  LogicalDevice& from = group_[edge.from];
  float* const sum = buffers[static_cast<std::size_t>(edge.to)];
  const float* const part = buffers[static_cast<std::size_t>(edge.from)];
  to.compute.wait_for(from.compute);  // from's partial sum is final
  const Context ctx = to.context();
  const TraceArgs args{n * 4, edge.from, edge.to, phase};
  traced(tracer_, to.compute, edge.to, Lane::Compute, "peer_add", args,
         [&] { to.compute.enqueue([ctx, n, part, sum] { axpy(ctx, n, 1.0f, part, sum); }); });
  from.compute.wait_for(to.compute);  // from may overwrite its buffer once it is read
}

bool Collectives::direct(const Edge& edge) {
  return options_.direct_reads && direct_access(group_[edge.to].device, group_[edge.from].device);
}

// One edge of a bucket: buffer[to] += buffer[from] over n elements, on one
// copy stream. Direct, in a reduce: the SENDER's copy stream pushes its partial
// sum into the receiver's buffer in place, so that every rank but the root
// does exactly one add (dp's root steps the optimizer instead). Direct, in an
// all-reduce: the receiver adds the sender's buffer in place, while the ranks
// that only send are busy receiving the broadcast (with two ranks: one add on
// rank 0, one copy on rank 1). Otherwise the receiver pulls the sender's buffer
// into its scratch slots, chunk by chunk, and adds there.
// It starts once both ranks have produced the bucket (their `ready` events) and
// the last stream that wrote either buffer (last_writer: a rank whose copy
// stream did, or -1) is done; it leaves the receiver's last writer behind.
void Collectives::bucket_edge(const Edge& edge, float* sum, const float* part, int64_t n,
                              const std::vector<Event*>& ready, std::vector<int>& last_writer,
                              bool push, const char* phase) {
  const bool in_place = direct(edge);
  push = push && in_place;
  const int runs_on = push ? edge.from : edge.to;
  Stream& s = group_[runs_on].copy;
  s.wait(*ready[static_cast<std::size_t>(edge.to)]);
  s.wait(*ready[static_cast<std::size_t>(edge.from)]);
  for (int rank : {edge.to, edge.from}) {
    const int writer = last_writer[static_cast<std::size_t>(rank)];
    if (writer >= 0 && writer != runs_on) s.wait_for(group_[writer].copy);
  }
  last_writer[static_cast<std::size_t>(edge.to)] = runs_on;
  const Context ctx = s.context();
  if (in_place) {
    const TraceArgs args{n * 4, edge.from, edge.to, phase};
    traced(tracer_, s, runs_on, Lane::Copy, "peer_add", args,
           [&] { s.enqueue([ctx, n, part, sum] { axpy(ctx, n, 1.0f, part, sum); }); });
    return;
  }
  copy_and_add(edge, sum, part, n, s, phase);  // both on the receiver's copy stream
}

void Collectives::run_bucket(const std::vector<float*>& buffers, int64_t offset, int64_t n,
                             const std::vector<Event*>& ready, bool broadcast) {
  const char* phase = broadcast ? "all_reduce" : "reduce";
  check(buffers, n, 0, phase);
  if (ready.size() != buffers.size())
    fail(phase, ": expected one ready event per buffer (", buffers.size(), "), found ",
         ready.size());
  if (buffers.size() == 1 || n == 0) return;
  const int ranks = static_cast<int>(buffers.size());
  auto at = [&](int r) { return buffers[static_cast<std::size_t>(r)] + offset; };
  std::vector<int> last_writer(static_cast<std::size_t>(ranks), -1);
  for (const auto& level : reduce_levels(ranks, options_.algorithm, 0))
    for (const Edge& edge : level)
      bucket_edge(edge, at(edge.to), at(edge.from), n, ready, last_writer, !broadcast, phase);
  // The sum is on rank 0; from here on its copy stream is ordered after it.
  if (last_writer[0] > 0) group_[0].copy.wait_for(group_[last_writer[0]].copy);
  if (!broadcast) return;
  const std::size_t bytes = static_cast<std::size_t>(n) * 4;
  for (const auto& level : broadcast_levels(ranks, options_.algorithm, 0)) {
    for (const Edge& edge : level) {
      LogicalDevice& to = group_[edge.to];
      to.copy.wait_for(group_[edge.from].copy);                 // the sender holds the final sum
      to.copy.wait(*ready[static_cast<std::size_t>(edge.to)]);  // its own backward wrote it
      traced(tracer_, to.copy, edge.to, Lane::Copy, "copy",
             {static_cast<int64_t>(bytes), edge.from, edge.to, phase}, [&] {
               copy_async(to.copy, at(edge.to), to.device, at(edge.from), group_[edge.from].device,
                          bytes);
             });
    }
  }
}

void Collectives::reduce_bucket(const std::vector<float*>& buffers, int64_t offset, int64_t n,
                                const std::vector<Event*>& ready) {
  run_bucket(buffers, offset, n, ready, false);
}

void Collectives::all_reduce_bucket(const std::vector<float*>& buffers, int64_t offset, int64_t n,
                                    const std::vector<Event*>& ready) {
  run_bucket(buffers, offset, n, ready, true);
}

void Collectives::broadcast_bucket(const std::vector<float*>& buffers, int64_t offset, int64_t n) {
  check(buffers, n, 0, "broadcast");
  if (buffers.size() == 1 || n == 0) return;
  const int ranks = static_cast<int>(buffers.size());
  const std::size_t bytes = static_cast<std::size_t>(n) * 4;
  for (const auto& level : broadcast_levels(ranks, options_.algorithm, 0)) {
    for (const Edge& edge : level) {
      LogicalDevice& to = group_[edge.to];
      LogicalDevice& from = group_[edge.from];
      to.copy.wait_for(edge.from == 0 ? from.compute : from.copy);  // the sender's data is final
      to.copy.wait_for(to.compute);  // nothing on the receiver still reads its old values
      traced(tracer_, to.copy, edge.to, Lane::Copy, "copy",
             {static_cast<int64_t>(bytes), edge.from, edge.to, "broadcast"}, [&] {
               copy_async(to.copy, buffers[static_cast<std::size_t>(edge.to)] + offset, to.device,
                          buffers[static_cast<std::size_t>(edge.from)] + offset, from.device,
                          bytes);
             });
    }
  }
}

void Collectives::join(int ranks) {
  if (ranks < 2) return;
  TimeMark begin;
  if (tracer_ || clock_) begin = group_[0].compute.mark();
  for (int r = 0; r < ranks; ++r) group_[r].compute.wait_for(group_[r].copy);
  if (!begin.valid()) return;
  TimeMark end = group_[0].compute.mark();
  if (clock_) clock_->add(begin, end);
  if (tracer_) tracer_->span(0, Lane::Compute, "join", begin, end);
}

void Collectives::run_reduce(const std::vector<float*>& buffers, int64_t n, int root,
                             const char* phase) {
  const int ranks = static_cast<int>(buffers.size());
  for (const auto& level : reduce_levels(ranks, options_.algorithm, root))
    for (const Edge& edge : level) {
      if (direct(edge))
        add_in_place(edge, buffers, n, phase);
      else
        receive_and_add(edge, buffers, n, phase);
    }
}

void Collectives::run_broadcast(const std::vector<float*>& buffers, int64_t n, int root,
                                const char* phase) {
  const int ranks = static_cast<int>(buffers.size());
  const auto levels = broadcast_levels(ranks, options_.algorithm, root);
  const std::size_t bytes = static_cast<std::size_t>(n) * 4;
  for (const auto& level : levels) {
    for (const Edge& edge : level) {
      LogicalDevice& to = group_[edge.to];
      LogicalDevice& from = group_[edge.from];
      // The sender's data is complete: the root's on its compute stream, a
      // relay's once its own copy has arrived.
      to.copy.wait_for(edge.from == root ? from.compute : from.copy);
      to.copy.wait_for(to.compute);  // nothing on the receiver still reads its buffer
      const TraceArgs args{static_cast<int64_t>(bytes), edge.from, edge.to, phase};
      traced(tracer_, to.copy, edge.to, Lane::Copy, "copy", args, [&] {
        copy_async(to.copy, buffers[static_cast<std::size_t>(edge.to)], to.device,
                   buffers[static_cast<std::size_t>(edge.from)], from.device, bytes);
      });
    }
  }
  for (const auto& level : levels) {
    for (const Edge& edge : level) {
      group_[edge.to].compute.wait_for(group_[edge.to].copy);    // data has arrived
      group_[edge.from].compute.wait_for(group_[edge.to].copy);  // sender's buffer is free
    }
  }
}

void Collectives::reduce(const std::vector<float*>& buffers, int64_t n, int root) {
  check(buffers, n, root, "reduce");
  if (buffers.size() == 1 || n == 0) return;
  Phase phase(*this, "reduce", static_cast<int>(buffers.size()), root);
  run_reduce(buffers, n, root, "reduce");
  phase.end();
}

void Collectives::broadcast(const std::vector<float*>& buffers, int64_t n, int root) {
  check(buffers, n, root, "broadcast");
  if (buffers.size() == 1 || n == 0) return;
  Phase phase(*this, "broadcast", static_cast<int>(buffers.size()), root);
  run_broadcast(buffers, n, root, "broadcast");
  phase.end();
}

void Collectives::all_reduce(const std::vector<float*>& buffers, int64_t n) {
  check(buffers, n, 0, "all_reduce");
  if (buffers.size() == 1 || n == 0) return;
  Phase phase(*this, "all_reduce", static_cast<int>(buffers.size()), 0);
  run_reduce(buffers, n, 0, "all_reduce");
  run_broadcast(buffers, n, 0, "all_reduce");
  phase.end();
}

}  // namespace cudp
