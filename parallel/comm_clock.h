// CommClock: one step's communication on the first device, the `comm` of
// `cudp train`'s progress line (what --help states):
//   moved    the wall time in which some movement between two devices runs on
//            any stream of the first device (local rank 0): a copy (a bucket's
//            chunk, a broadcast, dp's gather and scatter_grad from or to
//            another device), a peer_add or add of a reduction, and over
//            several processes a collective of the net stream; not the batch's
//            scatter from the host, nor a copy of a device's own shard (src and
//            dst are the trace's: cudp explain counts the same)
//   exposed  of that time, the part in which no compute of the first device
//            runs (a layer forward or backward, the loss, an sgd, on any of
//            its streams): the step line's comm; the rest is hidden
// The net figure of several processes (NetTime, "net ... (N% hidden)") is the
// same arithmetic over the net stream's collectives alone.
// A movement belongs to the device whose stream runs it, the lane the trace
// draws it on: rank 1 pulling rank 0's broadcast is rank 1's movement.
// The intervals are the first device's spans, marked every step, traced or
// not, and sorted by name (activity_of); the arithmetic is intervals.h's.
//
// The decision a reader would get wrong: a wait is neither movement nor
// compute. The old figure, the compute stream's time in waits (join, gather,
// scatter_grad), is not this one: it counted a wait for a slower replica's
// forward as communication, and a reduce hidden behind an SGD on the copy
// stream as exposed. Here time counts as communication only while bytes move.
#pragma once

#include <mutex>
#include <utility>
#include <vector>

#include "model/trainer.h"
#include "parallel/intervals.h"
#include "parallel/trace.h"

namespace cudp {

enum class Activity { None, Movement, Compute };
// By trace.h's names; a copy, peer_add or add moves between devices only when
// its src and dst are two different devices.
Activity activity_of(const char* span_name, const TraceArgs& args);

class CommClock {
 public:
  bool times(int rank) const { return rank == 0 && !paused_; }  // the first device's streams
  void set_paused(bool paused) { paused_ = paused; }            // evaluation: no marks
  void add(Activity activity, TimeMark begin, TimeMark end);
  // A collective of the net stream, on the host clock; any thread.
  void add_net(double begin_us, double end_us);
  struct Step {
    CommTime comm;
    NetTime net;
  };
  Step take();  // after synchronizing every stream the marks are on; resets
  void discard();

 private:
  bool paused_ = false;
  std::vector<std::pair<TimeMark, TimeMark>> movement_, compute_;
  std::mutex net_mutex_;  // the net worker adds while the host queues
  std::vector<Interval> net_;
};

// Queues enqueue()'s work on `stream`, device `rank`'s, as one span `name`:
// traced when there is a tracer, timed when the clock times that device.
template <class Enqueue>
void traced(Tracer* tracer, CommClock* clock, Stream& stream, int rank, Lane lane, const char* name,
            const TraceArgs& args, Enqueue&& enqueue) {
  const Activity activity = clock && clock->times(rank) ? activity_of(name, args) : Activity::None;
  if (activity == Activity::None) return traced(tracer, stream, rank, lane, name, args, enqueue);
  TimeMark begin = stream.mark();
  enqueue();
  TimeMark end = stream.mark();
  if (tracer) tracer->span(rank, lane, name, begin, end, args);
  clock->add(activity, std::move(begin), std::move(end));
}

}  // namespace cudp
