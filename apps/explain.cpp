// See explain.h. Interval arithmetic on [begin, end) microsecond spans: merge
// a set, subtract one merged set from another, measure a set.
#include "apps/explain.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <tuple>

namespace cudp {
namespace {

using Spans = std::vector<std::pair<double, double>>;

// Sorted, disjoint.
Spans merged(Spans spans) {
  std::sort(spans.begin(), spans.end());
  Spans out;
  for (const auto& s : spans) {
    if (s.second <= s.first) continue;
    if (!out.empty() && s.first <= out.back().second)
      out.back().second = std::max(out.back().second, s.second);
    else
      out.push_back(s);
  }
  return out;
}

// a minus b, both merged.
Spans minus(const Spans& a, const Spans& b) {
  Spans out;
  std::size_t j = 0;
  for (auto [begin, end] : a) {
    while (j < b.size() && b[j].second <= begin) ++j;
    for (std::size_t k = j; k < b.size() && b[k].first < end; ++k) {
      if (b[k].first > begin) out.push_back({begin, b[k].first});
      begin = std::max(begin, b[k].second);
    }
    if (begin < end) out.push_back({begin, end});
  }
  return out;
}

double measure_ms(const Spans& spans) {
  double us = 0;
  for (const auto& s : merged(spans)) us += s.second - s.first;
  return us / 1000;
}

bool moves(const TraceRecord& r) { return r.name == "copy" || r.name == "peer_add"; }
bool is_add(const TraceRecord& r) { return r.name == "add"; }
bool computes(const TraceRecord& r) {
  return r.name.rfind("forward/", 0) == 0 || r.name.rfind("backward/", 0) == 0 ||
         r.name == "loss" || r.name == "sgd";
}
// Between two devices: the inter-device movement that comm counts.
bool between_devices(const TraceRecord& r) {
  return (moves(r) || is_add(r)) && r.args.src >= 0 && r.args.dst >= 0 && r.args.src != r.args.dst;
}

// The row a record adds to, by phase: "" for a wait span, the host lane, the net lane.
std::string phase_of(const TraceRecord& r) {
  if (r.lane == Lane::Host || r.lane == Lane::Net) return "";
  if ((moves(r) || is_add(r)) && r.args.phase) return r.args.phase;
  if (r.name.rfind("forward/", 0) == 0) return "forward";
  if (r.name.rfind("backward/", 0) == 0) return "backward";
  if (r.name == "loss" || r.name == "sgd") return r.name;
  return "";
}

int order_of(const std::string& phase) {
  static const char* kOrder[] = {"scatter",      "broadcast", "forward", "gather",     "loss",
                                 "scatter_grad", "backward",  "reduce",  "all_reduce", "sgd"};
  for (int i = 0; i < static_cast<int>(std::size(kOrder)); ++i)
    if (phase == kOrder[i]) return i;
  return static_cast<int>(std::size(kOrder));  // unknown: after, by name
}

struct Accumulator {
  ExplainRow row;
  Spans spans;
  void add(const TraceRecord& r) {
    ++row.events;
    if (moves(r)) {
      ++row.copies;
      row.bytes += std::max<int64_t>(0, r.args.bytes);
    }
    if (is_add(r)) ++row.adds;
    ++row.run_by[{r.rank, r.lane}];
    spans.push_back({r.begin_us, r.end_us});
  }
  ExplainRow done() {
    row.ms = measure_ms(spans);
    return row;
  }
};

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3)
    s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string device(int d) { return d == -1 ? "host" : std::to_string(d); }

std::string run_by(const ExplainRow& row) {
  std::string out;
  for (const auto& [who, n] : row.run_by)
    out += (out.empty() ? "" : ", ") + std::to_string(who.first) + " " +
           (who.second == Lane::Compute ? "compute"
            : who.second == Lane::Copy  ? "copy"
                                        : "other") +
           " (" + std::to_string(n) + ")";
  return out;
}

std::string fixed(double v, const char* format) {
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

std::string time_cells(double ms, double step_ms) {
  return fixed(ms, "%.2f") + " | " + fixed(step_ms > 0 ? 100 * ms / step_ms : 0, "%.1f%%");
}

std::string count(int n) { return n ? std::to_string(n) : ""; }

}  // namespace

std::vector<std::vector<TraceRecord>> split_steps(const std::vector<TraceRecord>& records) {
  std::vector<double> ends;  // each step's end: its host sync's
  for (const TraceRecord& r : records)
    if (r.lane == Lane::Host && r.name == "sync") ends.push_back(r.end_us);
  std::sort(ends.begin(), ends.end());
  std::vector<std::vector<TraceRecord>> steps(ends.size());
  for (const TraceRecord& r : records) {
    const auto at = std::upper_bound(ends.begin(), ends.end(), r.begin_us);
    // An event that starts exactly at a sync's end belongs to the next step.
    const std::size_t step = static_cast<std::size_t>(at - ends.begin());
    if (step < steps.size()) steps[step].push_back(r);
  }
  return steps;
}

StepExplanation explain_step(const std::vector<TraceRecord>& records, int step) {
  StepExplanation e;
  e.step = step;
  if (records.empty()) return e;
  double first = records.front().begin_us, last = records.front().end_us;
  std::map<std::pair<int, std::string>, Accumulator> phases;            // (order, phase)
  std::map<std::tuple<int, std::string, int, int>, Accumulator> edges;  // (order, phase, dst, src)
  std::map<int, Spans> movement, compute;  // per device: the lane's owner
  for (const TraceRecord& r : records) {
    first = std::min(first, r.begin_us);
    last = std::max(last, r.end_us);
    const std::string phase = phase_of(r);
    if (phase.empty()) continue;
    const int order = order_of(phase);
    Accumulator& p = phases[{order, phase}];
    p.row.phase = phase;
    p.add(r);
    if (moves(r) || is_add(r)) {
      Accumulator& edge = edges[{order, phase, r.args.dst, r.args.src}];
      edge.row.phase = phase;
      edge.row.src = r.args.src;
      edge.row.dst = r.args.dst;
      edge.add(r);
      if (moves(r)) {
        const int64_t bytes = std::max<int64_t>(0, r.args.bytes);
        ++e.copies;
        e.bytes += bytes;
        if (r.args.dst >= 0) e.devices[r.args.dst].received += bytes;
        if (r.args.src >= 0) e.devices[r.args.src].sent += bytes;
        e.devices[r.rank].moved += bytes;
        ++e.devices[r.rank].copies_run;
      } else {
        ++e.adds;
      }
    }
    if (between_devices(r)) movement[r.rank].push_back({r.begin_us, r.end_us});
    if (computes(r)) compute[r.rank].push_back({r.begin_us, r.end_us});
  }
  e.step_ms = (last - first) / 1000;
  for (auto& [key, acc] : phases) e.phases.push_back(acc.done());
  for (auto& [key, acc] : edges) e.edges.push_back(acc.done());
  Spans moving, exposed;
  for (auto& [d, spans] : movement) {
    const Spans mine = merged(spans);
    moving.insert(moving.end(), mine.begin(), mine.end());
    const Spans alone = minus(mine, merged(compute[d]));
    exposed.insert(exposed.end(), alone.begin(), alone.end());
  }
  e.movement_ms = measure_ms(moving);
  e.exposed_ms = measure_ms(exposed);
  return e;
}

std::string explanation_tables(const StepExplanation& e) {
  std::ostringstream out;
  out << "per phase, step " << e.step << " (" << fixed(e.step_ms, "%.2f")
      << " ms from its first event to the end of its sync)\n\n"
      << "| phase | bytes | copies | adds | events | run by: device stream (events) | ms | % of "
         "step |\n"
      << "|---|---:|---:|---:|---:|---|---:|---:|\n";
  for (const ExplainRow& r : e.phases)
    out << "| " << r.phase << " | " << (r.copies ? with_commas(r.bytes) : "") << " | "
        << count(r.copies) << " | " << count(r.adds) << " | " << r.events << " | " << run_by(r)
        << " | " << time_cells(r.ms, e.step_ms) << " |\n";
  out << "| total | " << with_commas(e.bytes) << " | " << e.copies << " | " << count(e.adds)
      << " | | | " << time_cells(e.step_ms, e.step_ms) << " |\n";
  out << "\nper edge (src -> dst: devices, host the host's memory)\n\n"
      << "| phase | edge | bytes | copies | adds | run by: device stream (events) | ms | % of step "
         "|\n"
      << "|---|---|---:|---:|---:|---|---:|---:|\n";
  for (const ExplainRow& r : e.edges)
    out << "| " << r.phase << " | " << device(r.src) << " -> " << device(r.dst) << " | "
        << (r.copies ? with_commas(r.bytes) : "") << " | " << count(r.copies) << " | "
        << count(r.adds) << " | " << run_by(r) << " | " << time_cells(r.ms, e.step_ms) << " |\n";
  out << "\nper device (received and sent: the edges' ends; moved: by its own streams)\n\n"
      << "| device | received | sent | moved | copies run |\n"
      << "|---:|---:|---:|---:|---:|\n";
  for (const auto& [d, b] : e.devices)
    out << "| " << d << " | " << with_commas(b.received) << " | " << with_commas(b.sent) << " | "
        << with_commas(b.moved) << " | " << b.copies_run << " |\n";
  out << "\ncommunication between devices, step " << e.step << "\n"
      << "  movement  " << fixed(e.movement_ms, "%7.2f") << " ms  "
      << fixed(e.step_ms > 0 ? 100 * e.movement_ms / e.step_ms : 0, "%5.1f%%")
      << " of the step: some copy, peer_add or add between two devices runs\n"
      << "  exposed   " << fixed(e.exposed_ms, "%7.2f") << " ms  "
      << fixed(e.step_ms > 0 ? 100 * e.exposed_ms / e.step_ms : 0, "%5.1f%%")
      << " of the step (comm): such a movement runs and no compute of its device does\n"
      << "  hidden    " << fixed(100 * e.hidden_share(), "%6.1f%%")
      << " of the movement time: behind forward, backward, loss or sgd of the same device\n";
  return out.str();
}

}  // namespace cudp
