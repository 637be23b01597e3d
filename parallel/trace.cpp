// Tracer (see trace.h): marks in, Chrome trace JSON out.
//
// Times are shifted so the earliest event starts at 0. Metadata events name
// each process ("rank 0 (cpu:0)") and thread (compute, copy) and keep the
// ranks in order in the viewer.
#include "parallel/trace.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>

#include "io/json.h"
#include "io/safetensors.h"

namespace cudp {

Tracer::Tracer(std::vector<std::string> device_names) : device_names_(std::move(device_names)) {}

void Tracer::span(int rank, Lane lane, std::string name, TimeMark begin, TimeMark end,
                  TraceArgs args) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.push_back({rank, lane, std::move(name), std::move(begin), std::move(end), args});
}

void Tracer::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Pending& p : pending_) {
    TraceRecord r;
    r.rank = p.rank;
    r.lane = p.lane;
    r.name = std::move(p.name);
    r.begin_us = p.begin.microseconds();
    r.end_us = std::max(r.begin_us, p.end.microseconds());
    r.args = p.args;
    done_.push_back(std::move(r));
  }
  pending_.clear();
}

std::vector<TraceRecord> Tracer::records() {
  flush();
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<TraceRecord> out = done_;
  double origin = std::numeric_limits<double>::infinity();
  for (const auto& r : out) origin = std::min(origin, r.begin_us);
  for (auto& r : out) {
    r.begin_us -= origin;
    r.end_us -= origin;
  }
  std::stable_sort(out.begin(), out.end(), [](const TraceRecord& a, const TraceRecord& b) {
    return a.begin_us < b.begin_us;
  });
  return out;
}

std::string Tracer::json() {
  const std::vector<TraceRecord> all = records();
  std::ostringstream out;
  out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&] {
    out << (first ? "" : ",\n");
    first = false;
  };
  for (std::size_t rank = 0; rank < device_names_.size(); ++rank) {
    sep();
    out << R"({"ph":"M","name":"process_name","pid":)" << rank << R"(,"tid":0,"args":{"name":)"
        << json::quote(device_names_[rank]) << "}}";
    sep();
    out << R"({"ph":"M","name":"process_sort_index","pid":)" << rank
        << R"(,"tid":0,"args":{"sort_index":)" << rank << "}}";
    for (int tid = 0; tid < 2; ++tid) {
      sep();
      out << R"({"ph":"M","name":"thread_name","pid":)" << rank << ",\"tid\":" << tid
          << R"(,"args":{"name":")" << (tid == 0 ? "compute" : "copy") << "\"}}";
    }
  }
  char number[64];
  for (const TraceRecord& r : all) {
    sep();
    std::snprintf(number, sizeof number, "%.3f,\"dur\":%.3f", r.begin_us, r.end_us - r.begin_us);
    out << "{\"ph\":\"X\",\"name\":" << json::quote(r.name) << ",\"pid\":" << r.rank
        << ",\"tid\":" << static_cast<int>(r.lane) << ",\"ts\":" << number;
    if (r.args.bytes >= 0 || r.args.phase) {
      out << ",\"args\":{";
      const char* comma = "";
      if (r.args.bytes >= 0) {
        out << "\"bytes\":" << r.args.bytes << ",\"src\":" << r.args.src
            << ",\"dst\":" << r.args.dst;
        comma = ",";
      }
      if (r.args.phase) out << comma << "\"phase\":" << json::quote(r.args.phase);
      out << "}";
    }
    out << "}";
  }
  out << "\n]}\n";
  return out.str();
}

void Tracer::write(const std::string& path) { write_file_atomically(path, json()); }

}  // namespace cudp
