// Trace merge: the per-rank Chrome traces of one run over several processes
// (parallel/trace.h, written by `cudp train --trace` under mpirun) joined into
// one, for Perfetto: every event of every file, as it was read.
//
// A rank's file holds a top-level "cudp" object {rank, ranks, host,
// first_device, devices, origin}. The merge refuses anything it cannot line
// up: a file that is not such a rank trace (one process's trace has no "cudp"
// object, and neither does a merged one have a rank), ranks that are not
// 0..n-1 once each with one n, devices that do not follow each other rank-major,
// an event whose pid is not one of its rank's global devices, times not from
// the run's shared origin. Each error names the file, what was expected and what
// was found.
// The decision a reader would get wrong: the merge renames and renumbers
// nothing. Pids are already global device indices, process names already say
// rank, device and host, and process_sort_index is the global device, so the
// devices of rank 0 come first, grouped, in any viewer; the merge only checks
// that the files fit together and concatenates them in rank order.
#pragma once

#include <string>
#include <vector>

#include "io/json.h"

namespace cudp {

struct RankTrace {
  std::string path;  // where it came from, for errors
  int rank = 0, ranks = 1, first_device = 0;
  std::string host;
  std::vector<std::string> devices;
  json::Value events;  // the traceEvents array, checked
};

struct MergedTrace {
  std::string json;
  int ranks = 0, devices = 0;
  std::size_t events = 0;
};

RankTrace parse_rank_trace(const std::string& text, const std::string& path);
RankTrace read_rank_trace(const std::string& path);
MergedTrace merge_rank_traces(std::vector<RankTrace> traces);
// Reads, checks and merges `inputs`, then writes `output` whole (or, on any
// error, not at all: nothing is written before every input is checked).
MergedTrace merge_trace_files(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace cudp
