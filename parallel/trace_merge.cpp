// Trace merge (see trace_merge.h): read and check each rank's file, check that
// they fit together, concatenate their events in rank order.
#include "parallel/trace_merge.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/safetensors.h"
#include "runtime/error.h"

namespace cudp {
namespace {

const json::Value* member(const json::Value& object, const std::string& key) {
  for (const auto& [k, v] : object.members)
    if (k == key) return &v;
  return nullptr;
}

std::string found_kind(const json::Value* v) { return v ? json::kind_name(v->kind) : "none"; }

// "cudp".key, a non-negative integer below 2^24 (ranks and device indices).
int count_of(const json::Value& cudp, const char* key, const std::string& path) {
  const json::Value* v = member(cudp, key);
  uint64_t n = 0;
  if (!v || !v->as_uint64(&n) || n >= (uint64_t{1} << 24))
    fail(path, ": expected \"cudp\".", key, " a non-negative integer, found ",
         v && v->kind == json::Kind::Number ? v->text : found_kind(v));
  return static_cast<int>(n);
}

std::string text_of(const json::Value& cudp, const char* key, const std::string& path) {
  const json::Value* v = member(cudp, key);
  if (!v || v->kind != json::Kind::String)
    fail(path, ": expected \"cudp\".", key, " a string, found ", found_kind(v));
  return v->text;
}

std::vector<std::string> devices_of(const json::Value& cudp, const std::string& path) {
  const json::Value* v = member(cudp, "devices");
  if (!v || v->kind != json::Kind::Array || v->items.empty())
    fail(path, ": expected \"cudp\".devices a list of device names, found ",
         v && v->kind == json::Kind::Array ? "an empty list" : found_kind(v));
  std::vector<std::string> out;
  for (const json::Value& d : v->items) {
    if (d.kind != json::Kind::String)
      fail(path, ": expected \"cudp\".devices to hold strings, found ", found_kind(&d));
    out.push_back(d.text);
  }
  return out;
}

// Every event an object whose pid is one of this rank's global devices.
void check_events(const RankTrace& t) {
  const int last = t.first_device + static_cast<int>(t.devices.size()) - 1;
  for (std::size_t i = 0; i < t.events.items.size(); ++i) {
    const json::Value& e = t.events.items[i];
    if (e.kind != json::Kind::Object)
      fail(t.path, ": traceEvents[", i, "]: expected an event object, found ", found_kind(&e));
    const json::Value* pid = member(e, "pid");
    uint64_t p = 0;
    if (!pid || !pid->as_uint64(&p) || p < static_cast<uint64_t>(t.first_device) ||
        p > static_cast<uint64_t>(last))
      fail(t.path, ": traceEvents[", i, "]: expected pid one of rank ", t.rank,
           "'s global devices ", t.first_device, "..", last, ", found ",
           pid && pid->kind == json::Kind::Number ? pid->text : found_kind(pid));
  }
}

std::string read_whole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, ": cannot read it: ", std::strerror(errno));
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      fail(path, ": cannot read it: ", std::strerror(error));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

// Ranks 0..n-1, once each, one n, devices following each other; sorts by rank.
void check_fit(std::vector<RankTrace>& traces) {
  if (traces.empty()) fail("expected the rank traces of one run, found no file");
  const RankTrace& first = traces[0];
  for (const RankTrace& t : traces)
    if (t.ranks != first.ranks)
      fail(t.path, ": expected a run of ", first.ranks, " ranks like ", first.path, ", found ",
           t.ranks, " ranks (rank ", t.rank, ")");
  std::stable_sort(traces.begin(), traces.end(),
                   [](const RankTrace& a, const RankTrace& b) { return a.rank < b.rank; });
  for (std::size_t i = 1; i < traces.size(); ++i)
    if (traces[i].rank == traces[i - 1].rank)
      fail(traces[i].path, ": expected each rank 0..", first.ranks - 1, " once, found rank ",
           traces[i].rank, " again (also in ", traces[i - 1].path, ")");
  for (int r = 0; r < first.ranks; ++r) {
    if (r < static_cast<int>(traces.size()) && traces[static_cast<std::size_t>(r)].rank == r)
      continue;
    std::string given;
    for (const RankTrace& t : traces)
      given += concat(given.empty() ? "" : ", ", t.path, " (rank ", t.rank, ")");
    fail("expected ranks 0..", first.ranks - 1, ", one file each; found no file of rank ", r,
         " among ", given);
  }
  int next = 0;
  for (const RankTrace& t : traces) {
    if (t.first_device != next)
      fail(t.path, ": expected rank ", t.rank, "'s devices to start at global device ", next,
           " (after the ranks before it), found ", t.first_device);
    next += static_cast<int>(t.devices.size());
  }
}

}  // namespace

RankTrace parse_rank_trace(const std::string& text, const std::string& path) {
  const json::Value root = json::parse(text, path);
  if (root.kind != json::Kind::Object)
    fail(path, ": expected a cudp rank trace (a JSON object), found ", found_kind(&root));
  const json::Value* cudp = member(root, "cudp");
  if (!cudp || cudp->kind != json::Kind::Object)
    fail(path,
         ": expected a cudp rank trace (a top-level \"cudp\" object, written by one "
         "rank of a run over several processes), found ",
         cudp ? concat("\"cudp\" as ", found_kind(cudp))
              : std::string("none (a trace of one process has none: nothing to merge)"));
  if (!member(*cudp, "rank"))
    fail(path, ": expected a rank trace, found a \"cudp\" object without a rank (a merged trace?)");
  RankTrace t;
  t.path = path;
  t.rank = count_of(*cudp, "rank", path);
  t.ranks = count_of(*cudp, "ranks", path);
  t.first_device = count_of(*cudp, "first_device", path);
  t.host = text_of(*cudp, "host", path);
  t.devices = devices_of(*cudp, path);
  if (t.rank >= t.ranks) fail(path, ": expected a rank in 0..", t.ranks - 1, ", found ", t.rank);
  const std::string origin = text_of(*cudp, "origin", path);
  if (origin != "shared")
    fail(path, ": expected times from the run's shared origin (\"origin\": \"shared\"), found \"",
         origin, "\"");
  const json::Value* events = member(root, "traceEvents");
  if (!events || events->kind != json::Kind::Array)
    fail(path, ": expected traceEvents a list of events, found ", found_kind(events));
  t.events = *events;
  check_events(t);
  return t;
}

RankTrace read_rank_trace(const std::string& path) {
  return parse_rank_trace(read_whole(path), path);
}

MergedTrace merge_rank_traces(std::vector<RankTrace> traces) {
  check_fit(traces);
  MergedTrace merged;
  merged.ranks = traces[0].ranks;
  std::string hosts;
  for (const RankTrace& t : traces) {
    merged.devices += static_cast<int>(t.devices.size());
    hosts += (hosts.empty() ? "" : ",") + json::quote(t.host);
  }
  std::string& out = merged.json;
  out = concat("{\"displayTimeUnit\":\"ms\",\"cudp\":{\"merged_ranks\":", merged.ranks,
               ",\"devices\":", merged.devices, ",\"hosts\":[", hosts, "]},\"traceEvents\":[\n");
  for (const RankTrace& t : traces)
    for (const json::Value& e : t.events.items) {
      if (merged.events++) out += ",\n";
      json::dump(e, out);
    }
  out += "\n]}\n";
  return merged;
}

MergedTrace merge_trace_files(const std::vector<std::string>& inputs, const std::string& output) {
  std::vector<RankTrace> traces;
  for (const std::string& path : inputs) {
    if (path == output)
      fail(output, ": is an input too: expected the merged trace to go to another file");
    traces.push_back(read_rank_trace(path));
  }
  MergedTrace merged = merge_rank_traces(std::move(traces));
  write_file_atomically(output, merged.json);
  return merged;
}

}  // namespace cudp
