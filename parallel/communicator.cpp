// Communicator (see communicator.h): the Whole route, edge by edge on the copy
// streams, and the waits on what a collective left. The Parts route is in
// communicator_parts.cpp.
//
// One staged edge, rank `to` pulling rank `from`'s buffer, chunk k in slot k%2:
//   to.copy:  wait freed[slot]   (the add that last read this slot is done)
//             copy chunk k -> scratch[slot]
//             add  buffer[to][chunk k] += scratch[slot]; record freed[slot]
// so that the copy of chunk k+1 (other slot) can run while chunk k is added.
// A direct edge is one add in place. A broadcast edge is one copy straight into
// the receiver's buffer, once the sender holds the final values and the
// receiver's compute stream is done with its own.
#include "parallel/communicator.h"

#include <algorithm>

#include "kernels/axpy.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

Communicator::Communicator(DeviceGroup& group, const BucketPlan& plan, Tracer* tracer,
                           CommClock* clock)
    : group_(group),
      plan_(plan),
      tracer_(tracer),
      clock_(clock),
      outcomes_(static_cast<std::size_t>(plan.ids())),
      sent_(static_cast<std::size_t>(plan.ids())),
      scratch_(static_cast<std::size_t>(group.size())) {
  for (int r = 0; r < group.size(); ++r) now_.emplace_back(group[r].device);
  for (int id = 0; id < plan.ids(); ++id)
    for (int r = 0; r < group.size(); ++r) {
      outcomes_[id].reduced.emplace_back(group[r].device);
      sent_[id].done.emplace_back(group[r].device);
    }
}

Event& Communicator::event(std::vector<Event>& events, int rank) {
  return events[static_cast<std::size_t>(rank)];
}

Event& Communicator::net_done(std::vector<Event>& device_events, std::vector<Event>& net_events,
                              int id) {
  if (!net_on_gpu()) return event(device_events, 0);
  if (net_events.empty())
    for (int i = 0; i < plan_.ids(); ++i) net_events.emplace_back(cpu_device(0));
  return net_events[static_cast<std::size_t>(id)];
}

std::vector<const Event*> Communicator::gpu_inputs(const std::vector<Event*>& ready, int ranks,
                                                   bool compute) {
  if (gpu_inputs_.empty())
    for (int r = 0; r < group_.size(); ++r)
      for (int k = 0; k < 2; ++k) gpu_inputs_.emplace_back(group_[r].device);
  std::vector<const Event*> before(ready.begin(), ready.end());
  // A re-record before the closure waits only makes it wait longer: GPU work
  // never waits for the net on the GPU, so every recorded event completes.
  for (int r = 0; r < ranks; ++r) {
    Event& copy = gpu_inputs_[static_cast<std::size_t>(2 * r)];
    group_[r].copy.record(copy);  // earlier copies into the buffers
    before.push_back(&copy);
    if (!compute) continue;
    Event& computed = gpu_inputs_[static_cast<std::size_t>(2 * r + 1)];
    group_[r].compute.record(computed);  // rank 0's values are final, the others' unread
    before.push_back(&computed);
  }
  return before;
}

void Communicator::check(const Bucket& bucket, const std::vector<float*>& buffers,
                         const std::vector<Event*>* ready, const char* what) const {
  const int ranks = static_cast<int>(buffers.size());
  if (ranks < 1 || ranks > group_.size())
    fail(what, ": expected 1 to ", group_.size(), " buffers, found ", ranks);
  if (bucket.id < 0 || bucket.id >= plan_.ids() || bucket.count < 0)
    fail(what, ": bucket ", bucket.id, " (", bucket.count, " elements) is not one of the plan's ",
         plan_.ids());
  if (ready && ready->size() != buffers.size())
    fail(what, ": expected one ready event per buffer (", buffers.size(), "), found ",
         ready->size());
}

Communicator::Scratch& Communicator::scratch_for(int rank, int64_t elements) {
  auto& slot = scratch_[static_cast<std::size_t>(rank)];
  // The most any edge of this plan can stage at once: a chunk, or the whole
  // buffer where that is smaller, so that the first edge sizes the slots for
  // every later one (a ring's hops of uneven slices would otherwise regrow them).
  const int64_t most = std::max(elements, plan_.whole().count);
  const auto want = static_cast<std::size_t>(std::min(plan_.chunk_elements(), most));
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

void Communicator::refresh_scratch_events() {
  for (std::size_t r = 0; r < scratch_.size(); ++r)
    if (scratch_[r])
      for (Event& freed : scratch_[r]->freed) group_[static_cast<int>(r)].copy.record(freed);
}

void Communicator::copy_and_add(const Edge& e, const Bucket& bucket, float* sum,
                                const float* part, Stream& adder, const char* phase) {
  const int64_t n = bucket.count;
  LogicalDevice& to = group_[e.to];
  const Device from_device = group_[e.from].device;
  Scratch& scratch = scratch_for(e.to, n);
  const Context ctx = adder.context();
  const Lane add_lane = &adder == &to.copy ? Lane::Copy : Lane::Compute;
  const int64_t chunk = plan_.chunk_elements();
  for (int64_t offset = 0; offset < n; offset += chunk) {
    const int64_t len = std::min(chunk, n - offset);
    const int slot = scratch.next;
    scratch.next ^= 1;
    float* const staged = scratch.slots[slot].data();
    to.copy.wait(scratch.freed[static_cast<std::size_t>(slot)]);
    const int64_t at = bucket.offset + offset;
    traced(tracer_, clock_, to.copy, e.to, Lane::Copy, "copy",
           slice_args(bucket.id, at, len, e.from, e.to, phase), [&] {
      copy_async(to.copy, staged, to.device, part + offset, from_device,
                 static_cast<std::size_t>(len) * 4);
    });
    adder.wait_for(to.copy);
    float* const y = sum + offset;
    const TraceArgs add_args = slice_args(bucket.id, at, len, e.from, e.to, phase, false);
    traced(tracer_, clock_, adder, e.to, add_lane, "add", add_args,
           [&] { adder.enqueue([ctx, len, staged, y] { axpy(ctx, len, 1.0f, staged, y); }); });
    adder.record(scratch.freed[static_cast<std::size_t>(slot)]);
  }
}

// One edge of a Whole bucket: buffer[to] += buffer[from] over n elements, on
// one copy stream (see bucket_plan.h for push and pull). It starts once both
// ranks have produced the bucket (their ready events) and the last copy stream
// that wrote either buffer (last_writer, or -1) is done; it leaves the
// receiver's last writer behind.
void Communicator::edge(const Edge& e, const Bucket& bucket, float* sum, const float* part,
                        const std::vector<Event*>& ready, std::vector<int>& last_writer, bool push,
                        const char* phase) {
  const int64_t n = bucket.count;
  const bool in_place = plan_.direct(e.to, e.from);
  push = push && in_place;
  const int runs_on = push ? e.from : e.to;
  Stream& s = group_[runs_on].copy;
  s.wait(*ready[static_cast<std::size_t>(e.to)]);
  s.wait(*ready[static_cast<std::size_t>(e.from)]);
  for (int rank : {e.to, e.from}) {
    const int writer = last_writer[static_cast<std::size_t>(rank)];
    if (writer >= 0 && writer != runs_on) s.wait_for(group_[writer].copy);
  }
  last_writer[static_cast<std::size_t>(e.to)] = runs_on;
  if (!in_place) return copy_and_add(e, bucket, sum, part, s, phase);  // the receiver's copy stream
  const Context ctx = s.context();
  traced(tracer_, clock_, s, runs_on, Lane::Copy, "peer_add",
         slice_args(bucket.id, bucket.offset, n, e.from, e.to, phase),
         [&] { s.enqueue([ctx, n, part, sum] { axpy(ctx, n, 1.0f, part, sum); }); });
}

void Communicator::reduce(const Bucket& bucket, const std::vector<float*>& buffers,
                          const std::vector<Event*>& ready) {
  check(bucket, buffers, &ready, "reduce");
  run_reduce(bucket, buffers, ready, false);
}

void Communicator::all_reduce(const Bucket& bucket, const std::vector<float*>& buffers,
                              const std::vector<Event*>& ready) {
  check(bucket, buffers, &ready, "all_reduce");
  run_reduce(bucket, buffers, ready, true);
}

void Communicator::run_reduce(const Bucket& bucket, const std::vector<float*>& buffers,
                              const std::vector<Event*>& ready, bool all_reduce) {
  const int ranks = static_cast<int>(buffers.size());
  Outcome& o = outcomes_[static_cast<std::size_t>(bucket.id)];
  o.ranks = ranks;
  o.route = plan_.route(bucket, ranks);
  o.reduced_on_compute = (ranks == 1 && o.route != Route::Net) || bucket.count == 0;
  o.ready = ready;
  if (o.reduced_on_compute) return;  // nothing to sum: the result is each rank's own
  if (o.route == Route::Net) {
    Event& done = net_done(o.reduced, net_reduced_, bucket.id);
    if (net_on_gpu())  // the closure waits on the host (communicator.h)
      return run_net(bucket, buffers, true, all_reduce, done, gpu_inputs(ready, ranks, false));
    Stream& net = net_stream();
    for (Event* e : ready) net.wait(*e);
    for (int r = 0; r < ranks; ++r) net.wait_for(group_[r].copy);  // earlier copies into them
    return run_net(bucket, buffers, true, all_reduce, done);
  }
  if (o.route == Route::Parts) return reduce_parts(bucket, buffers, ready, all_reduce);
  if (plan_.algorithm() == ReduceAlgorithm::Ring)
    return reduce_ring(bucket, buffers, ready, all_reduce);
  reduce_whole(bucket, buffers, ready, all_reduce);
}

void Communicator::reduce_whole(const Bucket& bucket, const std::vector<float*>& buffers,
                                const std::vector<Event*>& ready, bool all_reduce) {
  const char* phase = all_reduce ? "all_reduce" : "reduce";
  const int ranks = static_cast<int>(buffers.size());
  const int64_t n = bucket.count;
  auto at = [&](int r) { return buffers[static_cast<std::size_t>(r)] + bucket.offset; };
  std::vector<int> last_writer(static_cast<std::size_t>(ranks), -1);
  for (const auto& level : reduce_levels(ranks, plan_.algorithm(), 0))
    for (const Edge& e : level)
      edge(e, bucket, at(e.to), at(e.from), ready, last_writer, !all_reduce, phase);
  // The sum is on rank 0; from here on its copy stream is ordered after it.
  if (last_writer[0] > 0) group_[0].copy.wait_for(group_[last_writer[0]].copy);
  Outcome& o = outcomes_[static_cast<std::size_t>(bucket.id)];
  if (!all_reduce) return group_[0].copy.record(event(o.reduced, 0));
  const std::size_t bytes = static_cast<std::size_t>(n) * 4;
  for (const auto& level : broadcast_levels(ranks, plan_.algorithm(), 0))
    for (const Edge& e : level) {
      LogicalDevice& to = group_[e.to];
      to.copy.wait_for(group_[e.from].copy);                 // the sender holds the final sum
      to.copy.wait(*ready[static_cast<std::size_t>(e.to)]);  // its own backward wrote it
      traced(tracer_, clock_, to.copy, e.to, Lane::Copy, "copy",
             slice_args(bucket.id, bucket.offset, n, e.from, e.to, phase), [&] {
               copy_async(to.copy, at(e.to), to.device, at(e.from), group_[e.from].device, bytes);
             });
    }
  for (int r = 0; r < ranks; ++r) group_[r].copy.record(event(o.reduced, r));
}

void Communicator::broadcast(const Bucket& bucket, const std::vector<float*>& buffers) {
  check(bucket, buffers, nullptr, "broadcast");
  const int ranks = static_cast<int>(buffers.size());
  Sent& sent = sent_[static_cast<std::size_t>(bucket.id)];
  sent.ranks = ranks;
  sent.route = plan_.route(bucket, ranks);
  if ((ranks == 1 && sent.route != Route::Net) || bucket.count == 0) {
    sent.ranks = 0;  // nothing moves: nothing to wait for
    return;
  }
  if (sent.route == Route::Net) {
    Event& done = net_done(sent.done, net_sent_, bucket.id);
    if (net_on_gpu()) return run_net(bucket, buffers, false, true, done, gpu_inputs({}, ranks, true));
    Stream& net = net_stream();
    for (int r = 0; r < ranks; ++r) {
      net.wait_for(group_[r].compute);  // rank 0's values are final, the others' unread
      net.wait_for(group_[r].copy);
    }
    return run_net(bucket, buffers, false, true, done);
  }
  if (sent.route == Route::Parts) {
    for (int q = 0; q < ranks; ++q) {
      broadcast_part(bucket, buffers, q, "broadcast");
      group_[q].compute.record(event(sent.done, q));
    }
    return;
  }
  const std::size_t bytes = static_cast<std::size_t>(bucket.count) * 4;
  for (const auto& level : broadcast_levels(ranks, plan_.algorithm(), 0))
    for (const Edge& e : level) {
      LogicalDevice& to = group_[e.to];
      LogicalDevice& from = group_[e.from];
      to.copy.wait_for(e.from == 0 ? from.compute : from.copy);  // the sender's data is final
      to.copy.wait_for(to.compute);  // nothing on the receiver still reads its old values
      traced(tracer_, clock_, to.copy, e.to, Lane::Copy, "copy",
             slice_args(bucket.id, bucket.offset, bucket.count, e.from, e.to, "broadcast"), [&] {
               copy_async(to.copy, buffers[static_cast<std::size_t>(e.to)] + bucket.offset,
                          to.device, buffers[static_cast<std::size_t>(e.from)] + bucket.offset,
                          from.device, bytes);
             });
    }
  for (int r = 1; r < ranks; ++r) group_[r].copy.record(event(sent.done, r));
}

namespace {
bool overlaps(Range a, Range b) { return a.begin < b.end && b.begin < a.end; }
}  // namespace

void Communicator::await_reduced(const Bucket& bucket, Range piece, int rank, Stream& s) {
  Outcome& o = outcomes_[static_cast<std::size_t>(bucket.id)];
  CUDP_ASSERT(o.ranks > 0 && rank < o.ranks);
  if (o.reduced_on_compute) return s.wait(*o.ready[static_cast<std::size_t>(rank)]);
  if (o.route == Route::Net) return wait_net(s, &net_done(o.reduced, net_reduced_, bucket.id));
  if (o.route == Route::Whole) {
    if (&s != &group_[rank].copy) s.wait(event(o.reduced, rank));
    return;
  }
  for (int q = 0; q < o.ranks; ++q) {
    const Range part = plan_.part(bucket, o.ranks, q);
    const Range mine{bucket.offset + part.begin, bucket.offset + part.end};
    if (overlaps(mine, piece) && &s != &group_[q].compute) s.wait(event(o.reduced, q));
  }
}

void Communicator::await_arrival(const Bucket& bucket, int rank, Stream& s) {
  Sent& sent = sent_[static_cast<std::size_t>(bucket.id)];
  if (sent.ranks == 0 || rank >= sent.ranks) return;
  if (sent.route == Route::Net) return wait_net(s, &net_done(sent.done, net_sent_, bucket.id));
  if (sent.route == Route::Whole) {
    if (rank != 0) s.wait(event(sent.done, rank));
    return;
  }
  for (int q = 0; q < sent.ranks; ++q)
    if (&s != &group_[q].compute) s.wait(event(sent.done, q));
}

void Communicator::await_sent(const Bucket& bucket, Range piece, Stream& s) {
  Sent& sent = sent_[static_cast<std::size_t>(bucket.id)];
  if (sent.ranks == 0) return;
  if (sent.route == Route::Net) return wait_net(s, &net_done(sent.done, net_sent_, bucket.id));
  for (int q = sent.route == Route::Whole ? 1 : 0; q < sent.ranks; ++q) {
    if (sent.route == Route::Parts) {
      const Range part = plan_.part(bucket, sent.ranks, q);
      const Range mine{bucket.offset + part.begin, bucket.offset + part.end};
      if (!overlaps(mine, piece) || &s == &group_[q].compute) continue;
    }
    s.wait(event(sent.done, q));
  }
}

void Communicator::finish(const Bucket& bucket, int ranks) {
  const Outcome& o = outcomes_[static_cast<std::size_t>(bucket.id)];
  const Sent& sent = sent_[static_cast<std::size_t>(bucket.id)];
  // Rank r's buffer is read and written by other ranks' copy streams too (a
  // child pushes into it, a broadcast child reads it), so each compute stream
  // waits for every copy stream of the group: only then may r write its buffer
  // again without racing a copy of this collective still in flight.
  const int took_part = std::max({ranks, o.ranks, sent.ranks});
  for (int r = 0; r < ranks; ++r) {
    Stream& s = group_[r].compute;
    if (net_) wait_net(s, nullptr);  // first: a copy stream's wait on the net is exposed too
    for (int q = 0; q < took_part; ++q) s.wait_for(group_[q].copy);
    if (sent.route == Route::Parts)
      for (int q = 0; q < sent.ranks; ++q)
        if (q != r) s.wait(sent.done[static_cast<std::size_t>(q)]);
    if (o.ranks > 0 && !o.reduced_on_compute && o.route == Route::Parts)
      for (int q = 0; q < o.ranks; ++q)
        if (q != r) s.wait(o.reduced[static_cast<std::size_t>(q)]);
  }
}

std::vector<Event*> Communicator::ready_now(int ranks) {
  if (ranks < 1 || ranks > group_.size())
    fail("ready_now: expected 1 to ", group_.size(), " ranks, found ", ranks);
  std::vector<Event*> events;
  for (int r = 0; r < ranks; ++r) {
    group_[r].compute.record(now_[static_cast<std::size_t>(r)]);
    events.push_back(&now_[static_cast<std::size_t>(r)]);
  }
  return events;
}

void Communicator::join(int ranks) {
  if (ranks < 2 && !net_) return;
  TimeMark begin;
  if (tracer_) begin = group_[0].compute.mark();
  for (int r = 0; r < ranks; ++r) {
    // The net first, so that the wait for it is timed as exposed, not hidden
    // in the copy stream's SGD, which waits for it too.
    if (net_) wait_net(group_[r].compute, nullptr);
    group_[r].compute.wait_for(group_[r].copy);
  }
  if (!begin.valid()) return;
  tracer_->span(0, Lane::Compute, "join", begin, group_[0].compute.mark());
}

}  // namespace cudp
