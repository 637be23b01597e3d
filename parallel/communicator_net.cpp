// The Net route of the Communicator (see bucket_plan.h for when the plan takes
// it): a group whose devices are some of the global devices of several
// processes (device_group.h). Each collective is ONE closure on the net
// stream, a CPU worker of this process, queued after the buckets' ready events;
// it runs the reduce order of one process over the same number of devices,
// level by level, over global device indices:
//   both ends here     buffer[to] += buffer[from], the same add as in one process
//   `from` here        send buffer[from] to the process that holds `to`
//   `to` here          receive into a staging buffer, then buffer[to] += it
// An all-reduce of a big bucket (the plan's net_parts) instead runs the same
// adds in parts (net_schedule.h): each process sums 1/P of the elements, then
// sends its part to every process, so no process waits while the root adds.
// The transfers of a level are posted together and waited for together
// (ProcessGroup::exchange); within a level a device is in one edge at most, so
// a level's adds and sends touch disjoint buffers. The broadcast runs the
// levels back from global device 0, each edge a copy or a transfer.
//
// The decision a reader would get wrong: every element sees the same adds in
// the same order as in one process, because the order depends only on the
// global device count and the algorithm; only where an add runs differs. So
// `mpirun -np 2 ... --devices cpu:2` gives the bits of `--devices cpu:4`.
// --inter allreduce instead reduces inside the process, lets MPI sum across
// processes in its own order, and broadcasts inside: not bitwise one process's.
// On CUDA devices (net_staged) the closure first waits on the host for the
// buckets' GPU events, then stages each local device's bucket through pinned
// host slots in chunks (staged_chunks.h): D2H of chunk i+1 on one CUDA stream
// of the net, the host algorithm on chunk i, H2D of chunk i-1 on another; it
// returns when every upload is done, so the net's CPU done event means "the
// result is in device memory". GPU streams never wait for it on the GPU: the
// host does (wait_net), as communicator.h says. Unverified on a GPU so far.
// Time: each closure gives its wall time to the CommClock (comm_clock.h), as
// movement of the first device; the clock leaves out the part in which that
// device computes (exposed). With a tracer each closure is a span on the net
// lane with its exchanges and adds inside it, each with the CPU time it got
// (the net stream's thread: one thread, no pool), and the first compute
// stream's waits on the net are spans (net_wait).
#include <cstring>

#include "kernels/axpy.h"
#include "parallel/communicator.h"
#include "parallel/net_spans.h"
#include "parallel/net_schedule.h"
#include "parallel/staged_chunks.h"
#include "runtime/copy.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace cudp {

void Communicator::wait_net(Stream& s, Event* done) {
  const bool timed = tracer_ && &s == &group_[0].compute;
  TimeMark begin;
  if (timed) begin = s.mark();
  if (s.device().is_cuda()) {  // the host waits for the net (communicator.h)
    if (done)
      done->synchronize();
    else
      net_->synchronize();
  } else if (done) {
    s.wait(*done);
  } else {
    s.wait_for(*net_);
  }
  if (!timed) return;
  tracer_->span(0, Lane::Compute, "net_wait", std::move(begin), s.mark());
}

Stream& Communicator::net_stream() {
  if (!net_) net_ = std::make_unique<Stream>(cpu_device(0), 1);
  return *net_;
}

float* Communicator::staging(std::size_t slot, int64_t n) {
  if (staging_.size() <= slot) staging_.resize(slot + 1);
  if (staging_[slot].size() < static_cast<std::size_t>(n))
    staging_[slot].resize(static_cast<std::size_t>(n));
  return staging_[slot].data();
}

void Communicator::run_net(const Bucket& bucket, const std::vector<float*>& buffers, bool reduce,
                           bool broadcast, Event& done, std::vector<const Event*> gpu_before) {
  if (static_cast<int>(buffers.size()) != group_.size())
    fail("a collective over several processes takes every rank of the group (", group_.size(),
         "), found ", buffers.size());
  std::vector<float*> at;
  for (float* b : buffers) at.push_back(b + bucket.offset);
  const int64_t n = bucket.count;
  NetWork work;
  // One tag per bucket and exchange kind: tree levels, parts in, parts out.
  work.tag = bucket.id * 3;
  work.reduce = reduce;
  work.broadcast = broadcast;
  work.mpi_sum = reduce && plan_.options().inter == InterProcess::Allreduce;
  work.parts = reduce && broadcast && !work.mpi_sum && plan_.net_parts(bucket);
  const char* name = work.mpi_sum ? "allreduce" : !reduce ? "broadcast" : broadcast ? "all_reduce" : "reduce";
  Tracer* tracer = tracer_;  // as when queued: evaluation runs untraced
  const int id = bucket.id;
  const Bucket piece = bucket;
  const bool gpu = net_on_gpu();
  Stream& net = net_stream();
  CommClock* clock = clock_;
  net.enqueue([this, at, n, work, piece, name, tracer, clock, id, gpu, gpu_before] {
    for (const Event* e : gpu_before) e->synchronize();  // GPU groups: the inputs are final
    const double begin = host_microseconds();
    const int64_t cpu = tracer ? thread_cpu_ns() : 0;
    NetSpans spans{tracer};
    if (gpu)
      net_staged(piece, at, work, spans);
    else
      net_algorithm(piece, at, work, spans);
    const double end = host_microseconds();
    if (clock) clock->add_net(begin, end);
    if (!tracer) return;
    TraceArgs args;
    args.bytes = n * 4;
    args.bucket = id;
    tracer->host_span(0, Lane::Net, name, begin, end, args, NetSpans::since(cpu));
  });
  net.record(done);
}

void Communicator::net_algorithm(const Bucket& bucket, const std::vector<float*>& at,
                                 const NetWork& work, NetSpans& spans) {
  const int64_t n = bucket.count;
  if (work.mpi_sum)
    net_local_then_mpi(at, n, spans);
  else if (work.reduce && plan_.algorithm() == ReduceAlgorithm::Ring)
    net_ring(bucket, at, work.tag, work.broadcast, spans);
  else if (work.parts)
    net_parts(at, n, work.tag + 1, spans);
  else
    net_tree(at, n, work.tag, work.reduce, work.broadcast, spans);
}

// GPU groups: the host algorithm runs on pinned copies of one chunk at a time
// (staged_chunks.h), each chunk a sub-bucket {id, offset + begin, len}. The
// bits are the whole bucket's: the tree and star are elementwise, the ring's
// slices are the whole buffer's (ring_slice keeps each element's slice), and
// the parts split each chunk instead of the bucket, which moves an element's
// adds to another process but keeps their order. Every local device's chunk
// is staged, also where the algorithm only writes it (a broadcast's
// receivers): simpler, and the bytes it uploads are the host's own result.
void Communicator::net_staged(const Bucket& bucket, const std::vector<float*>& at,
                              const NetWork& work, NetSpans& spans) {
  const int ranks = static_cast<int>(at.size());
  int64_t chunk = plan_.chunk_elements();
  if (chunk <= 0 || chunk > bucket.count) chunk = bucket.count;
  if (!net_staging_) {
    net_staging_ = std::make_unique<NetStaging>();
    for (int r = 0; r < ranks; ++r) {
      net_staging_->down.emplace_back(group_[r].device);
      net_staging_->up.emplace_back(group_[r].device);
    }
    for (int k = 0; k < kStagingSlots * ranks; ++k) {
      net_staging_->downloaded.emplace_back(group_[k % ranks].device);
      net_staging_->uploaded.emplace_back(group_[k % ranks].device);
    }
    net_staging_->slots.resize(static_cast<std::size_t>(kStagingSlots * ranks));
  }
  NetStaging& st = *net_staging_;
  for (PinnedBuffer<float>& slot : st.slots)  // between collectives: no copy is in flight
    if (slot.size() < static_cast<std::size_t>(chunk))
      slot = PinnedBuffer<float>(static_cast<std::size_t>(chunk));
  const Device host = cpu_device(0);
  auto index = [ranks](int slot, int r) { return static_cast<std::size_t>(slot * ranks + r); };
  auto bytes = [](Range c) { return static_cast<std::size_t>(c.end - c.begin) * 4; };
  StagedSteps steps;
  steps.begin_download = [&](int slot, Range c) {
    for (int r = 0; r < ranks; ++r) {
      copy_async(st.down[r], st.slots[index(slot, r)].data(), host, at[r] + c.begin,
                 group_[r].device, bytes(c));
      st.down[r].record(st.downloaded[index(slot, r)]);
    }
  };
  steps.wait_download = [&](int slot) {
    for (int r = 0; r < ranks; ++r) st.downloaded[index(slot, r)].synchronize();
  };
  steps.work = [&](int slot, Range c) {
    std::vector<float*> chunk_at;
    for (int r = 0; r < ranks; ++r) chunk_at.push_back(st.slots[index(slot, r)].data());
    const Bucket piece{bucket.id, bucket.offset + c.begin, c.end - c.begin};
    net_algorithm(piece, chunk_at, work, spans);
  };
  steps.begin_upload = [&](int slot, Range c) {
    for (int r = 0; r < ranks; ++r) {
      copy_async(st.up[r], at[r] + c.begin, group_[r].device, st.slots[index(slot, r)].data(),
                 host, bytes(c));
      st.up[r].record(st.uploaded[index(slot, r)]);
    }
  };
  steps.wait_upload = [&](int slot) {
    for (int r = 0; r < ranks; ++r) st.uploaded[index(slot, r)].synchronize();
  };
  run_staged(bucket.count, chunk, steps);
}

void Communicator::net_tree(const std::vector<float*>& at, int64_t n, int tag, bool reduce,
                            bool broadcast, NetSpans& spans) {
  const DeviceLayout& layout = group_.layout();
  ProcessGroup& processes = group_.processes();
  const Context host{cpu_device(0)};
  const std::size_t bytes = static_cast<std::size_t>(n) * 4;
  auto local = [&](int global) { return at[static_cast<std::size_t>(layout.local_index(global))]; };
  if (reduce) {
    for (const auto& level : reduce_levels(layout.total(), plan_.algorithm(), 0)) {
      std::vector<Transfer> transfers;
      std::vector<std::pair<float*, float*>> adds;  // (sum, received) after the transfers
      for (const Edge& e : level) {
        const bool to = layout.mine(e.to), from = layout.mine(e.from);
        if (to && from) {
          axpy(host, n, 1.0f, local(e.from), local(e.to));
        } else if (from) {
          transfers.push_back({layout.owner(e.to), tag, local(e.from), bytes, true});
        } else if (to) {
          float* received = staging(adds.size(), n);
          transfers.push_back({layout.owner(e.from), tag, received, bytes, false});
          adds.emplace_back(local(e.to), received);
        }
      }
      spans.exchange(processes, transfers, "reduce");
      if (adds.empty()) continue;
      spans.adds(static_cast<int64_t>(adds.size() * bytes), "reduce", [&] {
        for (const auto& [sum, received] : adds) axpy(host, n, 1.0f, received, sum);
      });
    }
  }
  if (!broadcast) return;
  for (const auto& level : broadcast_levels(layout.total(), plan_.algorithm(), 0)) {
    std::vector<Transfer> transfers;
    for (const Edge& e : level) {
      const bool to = layout.mine(e.to), from = layout.mine(e.from);
      if (to && from)
        std::memcpy(local(e.to), local(e.from), bytes);
      else if (from)
        transfers.push_back({layout.owner(e.to), tag, local(e.from), bytes, true});
      else if (to)
        transfers.push_back({layout.owner(e.from), tag, local(e.to), bytes, false});
    }
    spans.exchange(processes, transfers, "broadcast");
  }
}

void Communicator::net_parts(const std::vector<float*>& at, int64_t n, int tag,
                             NetSpans& spans) {
  const DeviceLayout& layout = group_.layout();
  ProcessGroup& processes = group_.processes();
  const Context host{cpu_device(0)};
  const int me = layout.rank(), P = layout.processes();
  const NetSchedule schedule = net_schedule(reduce_levels(layout.total(), plan_.algorithm(), 0), layout);
  auto local = [&](int global) { return at[static_cast<std::size_t>(layout.local_index(global))]; };
  auto part = [&](int p) { return split_range(n, P, p); };
  auto bytes = [](Range r) { return static_cast<std::size_t>(r.end - r.begin) * 4; };
  for (const Edge& e : schedule.local_first)
    if (layout.mine(e.to)) axpy(host, n, 1.0f, local(e.from), local(e.to));
  // In: every input's part p, to process p; mine are used in place.
  const Range own = part(me);
  std::vector<float*> value(static_cast<std::size_t>(layout.total()), nullptr);
  std::vector<Transfer> in;
  std::size_t slot = 0;
  for (const int d : schedule.inputs) {
    if (layout.mine(d)) {
      value[d] = local(d) + own.begin;
      for (int q = 0; q < P; ++q)
        if (q != me && bytes(part(q)) > 0)
          in.push_back({q, tag, local(d) + part(q).begin, bytes(part(q)), true});
    } else if (bytes(own) > 0) {
      value[d] = staging(slot++, own.end - own.begin);
      in.push_back({layout.owner(d), tag, value[d], bytes(own), false});
    }
  }
  spans.exchange(processes, in, "reduce_scatter");
  if (own.end > own.begin)
    spans.adds(static_cast<int64_t>(schedule.per_part.size() * bytes(own)), "reduce_scatter", [&] {
      for (const Edge& e : schedule.per_part)
        axpy(host, own.end - own.begin, 1.0f, value[e.from], value[e.to]);
    });
  // Out: part p's sum from process p into every process's first device, then
  // from there to the process's other devices.
  float* first = at[0];
  if (bytes(own) > 0 && value[0] != first + own.begin)
    std::memcpy(first + own.begin, value[0], bytes(own));
  std::vector<Transfer> out;
  for (int q = 0; q < P; ++q) {
    if (q == me) continue;
    if (bytes(own) > 0) out.push_back({q, tag + 1, first + own.begin, bytes(own), true});
    if (bytes(part(q)) > 0)
      out.push_back({q, tag + 1, first + part(q).begin, bytes(part(q)), false});
  }
  spans.exchange(processes, out, "all_gather");
  for (std::size_t l = 1; l < at.size(); ++l)
    std::memcpy(at[l], first, static_cast<std::size_t>(n) * 4);
}

void Communicator::net_local_then_mpi(const std::vector<float*>& at, int64_t n,
                                      NetSpans& spans) {
  const Context host{cpu_device(0)};
  const int ranks = static_cast<int>(at.size());
  for (const auto& level : reduce_levels(ranks, plan_.algorithm(), 0))
    for (const Edge& e : level) axpy(host, n, 1.0f, at[e.from], at[e.to]);
  const double begin = host_microseconds();
  group_.processes().all_reduce_sum(at[0], static_cast<std::size_t>(n));
  if (spans.tracer) {
    TraceArgs args;
    args.bytes = n * 4;
    args.phase = "MPI_Allreduce";
    spans.tracer->host_span(0, Lane::Net, "exchange", begin, host_microseconds(), args);
  }
  for (const auto& level : broadcast_levels(ranks, plan_.algorithm(), 0))
    for (const Edge& e : level)
      std::memcpy(at[e.to], at[e.from], static_cast<std::size_t>(n) * 4);
}

void Communicator::synchronize() {
  if (net_) net_->synchronize();
}

void Communicator::drain() noexcept {
  try {
    synchronize();
  } catch (...) {
  }
}

}  // namespace cudp
