// `cudp explain`'s analysis: one traced step, per phase and per edge, from the
// tracer's records (parallel/trace.h), and its tables.
//
//   copies   events that move bytes: `copy` and `peer_add` (an in-place add
//            that reads the sender's buffer counts as moving its bytes)
//   adds     `add` events: with --edge copy, the sum of a chunk the receiver
//            copied into its scratch; they move nothing themselves
//   run by   the stream's owner: the device whose lane the event is on, and
//            the lane (compute or copy stream)
//   ms       the wall time during which at least one of the row's events
//            runs (two lanes at once count once), and its share of the step
//   movement the wall time during which some inter-device movement runs: a
//            copy, peer_add or add between two different devices (not the
//            host's scatter, not the output device's copy of its own shard)
//   exposed  (comm) the wall time during which some device runs such a
//            movement and no compute (forward/*, backward/*, loss, sgd) of
//            its own; hidden = 1 - exposed / movement
// A step is the records from the end of the previous step's host `sync` to
// the end of its own; its wall time is its first event's start to its last
// event's end.
// The decision a reader would get wrong: rows are keyed by what the trace
// says (phase, src, dst, lane), never by what the plan intended, so a slice
// that a third device copies shows up under that device, and the shares of a
// table may add up to more than 100% (lanes run at once).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "parallel/trace.h"

namespace cudp {

struct ExplainRow {
  std::string phase;
  int src = TraceArgs::kNone, dst = TraceArgs::kNone;  // edge rows only; -1: the host
  int64_t bytes = 0;
  int copies = 0, adds = 0, events = 0;
  std::map<std::pair<int, Lane>, int> run_by;  // (device, lane) -> events
  double ms = 0;
};

// One device's share of the step's copies: bytes into it, out of it, and
// moved by its own streams (whoever's edge they were).
struct DeviceBytes {
  int64_t received = 0, sent = 0, moved = 0;
  int copies_run = 0;  // copies its streams ran
};

struct StepExplanation {
  int step = 0;  // 1-based
  double step_ms = 0;
  std::vector<ExplainRow> phases;      // in the step's order: scatter, broadcast, forward, ...
  std::vector<ExplainRow> edges;       // by phase, then receiver, then sender
  std::map<int, DeviceBytes> devices;  // every device a copy touches; not the host (-1)
  int64_t bytes = 0;                   // every copy's
  int copies = 0, adds = 0;
  double movement_ms = 0, exposed_ms = 0;
  double hidden_share() const { return movement_ms > 0 ? 1 - exposed_ms / movement_ms : 1; }
};

// The run's records (Tracer::records()) cut into steps at each host `sync`.
std::vector<std::vector<TraceRecord>> split_steps(const std::vector<TraceRecord>& records);
// One step's records; `step` is its 1-based number, for the report.
StepExplanation explain_step(const std::vector<TraceRecord>& records, int step);

// The three markdown tables (phases, edges, devices) and the communication
// lines, devices as ranks.
std::string explanation_tables(const StepExplanation& e);

}  // namespace cudp
