// Communicator: reduce, all-reduce and broadcast of one bucket over a group.
//
// It is the seam between the trainers and how bytes move: the trainers say
// WHAT is summed or sent (a bucket of per-rank buffers, buffers[r] on rank r;
// ranks 0..buffers.size()-1 take part) and WHEN each rank's part is ready (an
// Event the caller recorded on that rank's compute stream); the BucketPlan says
// on which streams and in which pieces; this class queues it. Everything is in
// place and stream-ordered, like NCCL: nothing here synchronizes the host.
//   reduce      the sum lands in buffers[0]; other buffers of the tree keep
//               partial sums (dp overwrites its gradients at the next backward)
//   all_reduce  the sum everywhere: a reduce, then a broadcast from rank 0
//   broadcast   buffers[0] to every rank, after the work queued so far on rank
//               0's compute stream and on each receiver's
// Then, to use a result on some stream s, the caller asks for the waits:
//   await_reduced(b, piece, r, s)  the reduced piece of rank r's buffer is final
//   await_arrival(b, r, s)         rank r's copy of the broadcast bucket is in place
//   await_sent(b, piece, s)        no copy of the broadcast still reads rank 0's piece
//   finish(b, ranks)               compute streams 0..ranks-1 wait for all of it,
//                                  on every stream that took part
//   join(ranks)                    every compute stream waits for its copy stream
// Every copy and add on rank 0's streams, and the net stream's collectives, go
// to the clock (comm_clock.h), traced or not.
// Over several processes (the plan's Net route) the same calls reduce over the
// global devices of every process; buffers are then this process's ranks, all of them.
// On CUDA devices the Net route stages each bucket through pinned host memory
// in chunks (communicator_net.cpp). A CPU stream cannot wait for a CUDA event
// nor a GPU stream for a CPU one, so there the HOST orders the two: the net's
// closure waits on the host for the buckets' GPU events before it reads them,
// and a GPU stream's wait for the net (await_*, finish, join) makes the
// calling thread wait for the net's CPU event before it queues the GPU work
// that reads the result. Correct, with less overlap than a GPU-side wait: the
// host queues nothing more until that bucket is back.
// The decision a reader would get wrong: a wait is asked for, never assumed, so
// a new route (parts, or an edge to another process) needs no trainer change.
#pragma once

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "model/trainer.h"
#include "parallel/bucket_plan.h"
#include "parallel/comm_clock.h"
#include "parallel/device_group.h"
#include "parallel/trace.h"
#include "runtime/memory.h"
#include "runtime/pinned.h"

namespace cudp {

struct NetSpans;  // net_spans.h

class Communicator {
 public:
  Communicator(DeviceGroup& group, const BucketPlan& plan, Tracer* tracer = nullptr,
               CommClock* clock = nullptr);

  void reduce(const Bucket& bucket, const std::vector<float*>& buffers,
              const std::vector<Event*>& ready);
  void all_reduce(const Bucket& bucket, const std::vector<float*>& buffers,
                  const std::vector<Event*>& ready);
  void broadcast(const Bucket& bucket, const std::vector<float*>& buffers);

  void await_reduced(const Bucket& bucket, Range piece, int rank, Stream& s);
  void await_arrival(const Bucket& bucket, int rank, Stream& s);
  void await_sent(const Bucket& bucket, Range piece, Stream& s);
  void finish(const Bucket& bucket, int ranks);
  void join(int ranks);
  // Events recorded now on ranks 0..ranks-1's compute streams: "after the work
  // queued so far", for a caller without backward hooks (evaluation, tests).
  std::vector<Event*> ready_now(int ranks);

  const BucketPlan& plan() const { return plan_; }
  void set_tracer(Tracer* tracer) { tracer_ = tracer; }
  // Records every scratch slot's "freed" event anew on its copy stream, now. A CUDA
  // graph's trainer calls it as a capture begins (so that captured copies wait on
  // events of the capture, never on the previous step's) and after each launch (so
  // that eager steps never wait on an event last recorded inside the graph); either
  // way the slots are free then. parallel/step_graph.h set_event_refresh.
  void refresh_scratch_events();
  // The host waits for the net stream (Net route); rethrows its error.
  void synchronize();
  void drain() noexcept;

 private:
  struct Scratch {
    Buffer<float> slots[2];
    std::vector<Event> freed;  // freed[slot]: its last add has run
    int next = 0;
  };
  // What the last collective of a bucket left, and where.
  struct Outcome {
    Route route = Route::Whole;
    int ranks = 0;               // 0: none yet
    bool reduced_on_compute;     // one rank alone: the result is the caller's ready event
    std::vector<Event> reduced;  // [r] Whole: on r's copy stream; Parts: [q] on q's compute
    std::vector<Event*> ready;   // one rank alone: its ready event
  };
  struct Sent {
    Route route = Route::Whole;
    int ranks = 0;            // 0: no broadcast of this bucket yet
    std::vector<Event> done;  // [r] Whole: r received (r's copy); Parts: part r sent (r's compute)
  };

  void check(const Bucket& bucket, const std::vector<float*>& buffers,
             const std::vector<Event*>* ready, const char* what) const;
  void run_reduce(const Bucket& bucket, const std::vector<float*>& buffers,
                  const std::vector<Event*>& ready, bool all_reduce);
  void reduce_whole(const Bucket& bucket, const std::vector<float*>& buffers,
                    const std::vector<Event*>& ready, bool all_reduce);
  void reduce_parts(const Bucket& bucket, const std::vector<float*>& buffers,
                    const std::vector<Event*>& ready, bool all_reduce);
  // --reduce ring (communicator_ring.cpp): reduce-scatter, then all-gather or gather.
  void reduce_ring(const Bucket& bucket, const std::vector<float*>& buffers,
                   const std::vector<Event*>& ready, bool all_reduce);
  void broadcast_part(const Bucket& bucket, const std::vector<float*>& buffers, int q,
                      const char* phase);
  // Both sum the whole of `bucket`: sum and part point at its first float.
  void edge(const Edge& e, const Bucket& bucket, float* sum, const float* part,
            const std::vector<Event*>& ready, std::vector<int>& last_writer, bool push,
            const char* phase);
  void copy_and_add(const Edge& e, const Bucket& bucket, float* sum, const float* part,
                    Stream& adder, const char* phase);
  Scratch& scratch_for(int rank, int64_t elements);
  // The Net route (communicator_net.cpp): one closure per collective on net_.
  Stream& net_stream();
  void run_net(const Bucket& bucket, const std::vector<float*>& buffers, bool reduce,
               bool broadcast, Event& done, std::vector<const Event*> gpu_before = {});
  void net_tree(const std::vector<float*>& at, int64_t n, int tag, bool reduce, bool broadcast,
                NetSpans& spans);
  void net_parts(const std::vector<float*>& at, int64_t n, int tag, NetSpans& spans);
  void net_ring(const Bucket& bucket, const std::vector<float*>& at, int tag, bool all_gather,
                NetSpans& spans);
  void net_local_then_mpi(const std::vector<float*>& at, int64_t n, NetSpans& spans);
  // One collective's host algorithm on host pointers at[r] (the bucket's first float).
  struct NetWork {
    int tag;
    bool reduce, broadcast, mpi_sum, parts;
  };
  void net_algorithm(const Bucket& bucket, const std::vector<float*>& at, const NetWork& work,
                     NetSpans& spans);
  // GPU groups: device buffers at[r] staged chunk by chunk through pinned slots.
  void net_staged(const Bucket& bucket, const std::vector<float*>& at, const NetWork& work,
                  NetSpans& spans);
  bool net_on_gpu() const { return group_[0].device.is_cuda(); }
  // GPU groups: events recorded now on each rank's copy (and compute) stream,
  // with `ready`, for the net's closure to wait for on the host.
  std::vector<const Event*> gpu_inputs(const std::vector<Event*>& ready, int ranks, bool compute);
  // The Net route's done event of a bucket: the outcome's own on CPU groups,
  // a CPU event of the net stream on GPU groups.
  Event& net_done(std::vector<Event>& device_events, std::vector<Event>& net_events, int id);
  float* staging(std::size_t slot, int64_t n);
  // s waits for `done` (a net event) or for the whole net stream; traced as
  // net_wait when s is the first device's compute stream.
  void wait_net(Stream& s, Event* done);
  template <class Enqueue>
  void on_compute(int q, const char* name, const TraceArgs& args, Enqueue&& enqueue);
  Event& event(std::vector<Event>& events, int rank);

  DeviceGroup& group_;
  const BucketPlan& plan_;
  Tracer* tracer_;
  CommClock* clock_;
  std::vector<Outcome> outcomes_;                  // [bucket id]
  std::vector<Sent> sent_;                         // [bucket id]
  std::vector<std::unique_ptr<Scratch>> scratch_;  // per rank, made on first receive
  std::vector<Event> now_;                         // ready_now's, per rank
  // Net route on GPUs: per-bucket CPU done events and the inputs' GPU events
  // (main thread), the staging (streams, pinned slots, their events; net_
  // only), declared before net_ so that net_'s worker drains before they go.
  std::vector<Event> net_reduced_, net_sent_;  // [bucket id]
  std::vector<Event> gpu_inputs_;              // [2 * rank + (compute ? 1 : 0)]
  struct NetStaging {
    std::vector<Stream> down, up;              // [rank]: device-to-host, host-to-device
    std::vector<PinnedBuffer<float>> slots;    // [slot * ranks + rank]
    std::vector<Event> downloaded, uploaded;   // [slot * ranks + rank]
  };
  std::unique_ptr<NetStaging> net_staging_;
  std::unique_ptr<Stream> net_;                    // Net route: made on first use
  std::vector<std::vector<float>> staging_;        // Net route: touched on net_ only
};

}  // namespace cudp
