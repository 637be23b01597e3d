// Tracer (see trace.h): marks in, Chrome trace JSON out.
//
// Times are shifted so the earliest event starts at 0, or so that the origin
// set_origin() was given is 0. Metadata events name each process ("rank 0
// (cpu:0)") and thread (compute, copy; net too under several processes) and
// keep the devices in order in the viewer.
// The decision a reader would get wrong: the shared origin of several
// processes is a host steady-clock time, and that is enough. CPU marks are
// that clock; CUDA marks are a base event's host time plus
// cudaEventElapsedTime (runtime/cuda/shim.cpp), close to it but not exact;
// and a run over several processes refuses cuda devices anyway
// (docs/design.md). Each process takes its origin right after the same
// barrier, so the ranks agree to the barrier's exit skew (its waits sleep up
// to 1 ms, parallel/mpi_process_group.cpp), on one host or several.
#include "parallel/trace.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>

#include "io/json.h"
#include "io/safetensors.h"
#include "runtime/error.h"

namespace cudp {

namespace {

// "rank 1 · device 2 (cpu:0) · host": the name `cudp trace merge` keeps.
std::string process_device_name(const TraceProcess& p, int local) {
  return concat("rank ", p.rank, " \u00b7 device ", p.first_device + local, " (",
                p.devices[static_cast<std::size_t>(local)], ") \u00b7 ", p.host);
}

}  // namespace

Tracer::Tracer(std::vector<std::string> device_names) : device_names_(std::move(device_names)) {}

Tracer::Tracer(TraceProcess process) : process_(std::move(process)), several_(true) {
  if (process_.ranks < 1 || process_.rank < 0 || process_.rank >= process_.ranks)
    fail("trace of process ", process_.rank, ": expected a rank in 0..", process_.ranks - 1);
  if (process_.devices.empty() || process_.first_device < 0)
    fail("trace of process ", process_.rank, ": expected devices from a global index >= 0, found ",
         process_.devices.size(), " from ", process_.first_device);
  for (int d = 0; d < static_cast<int>(process_.devices.size()); ++d)
    device_names_.push_back(process_device_name(process_, d));
}

void Tracer::set_origin(double host_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  has_origin_ = true;
  origin_us_ = host_us;
}

void Tracer::span(int rank, Lane lane, std::string name, TimeMark begin, TimeMark end,
                  TraceArgs args) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.push_back({rank, lane, std::move(name), std::move(begin), std::move(end), args});
}

void Tracer::host_span(int rank, Lane lane, std::string name, double begin_us, double end_us,
                       TraceArgs args, SpanCpu cpu) {
  TraceRecord r;
  r.rank = rank;
  r.lane = lane;
  r.name = std::move(name);
  r.begin_us = begin_us;
  r.end_us = std::max(begin_us, end_us);
  r.args = args;
  r.cpu = cpu;
  std::lock_guard<std::mutex> lock(mutex_);
  done_.push_back(std::move(r));
}

void Tracer::add_net_time(double busy_ms, double exposed_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  net_busy_ms_ += busy_ms;
  net_exposed_ms_ += exposed_ms;
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
    const CpuUsage* begin = p.begin.cpu_usage();
    const CpuUsage* end = p.end.cpu_usage();
    if (begin && end) r.cpu = span_cpu(*begin, *end);
    done_.push_back(std::move(r));
  }
  pending_.clear();
}

std::vector<TraceRecord> Tracer::records() {
  flush();
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<TraceRecord> out = done_;
  double origin = has_origin_ ? origin_us_ : std::numeric_limits<double>::infinity();
  if (!has_origin_)
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

// Who wrote the file (several processes only), then the process and thread names.
void Tracer::write_metadata(std::ostream& out) const {
  const char* const threads[] = {"compute", "copy", "net", "host"};
  const int thread_count = several_ ? 3 : 2;
  for (std::size_t d = 0; d < device_names_.size(); ++d) {
    const int pid = global(static_cast<int>(d));
    out << (d ? ",\n" : "") << R"({"ph":"M","name":"process_name","pid":)" << pid
        << R"(,"tid":0,"args":{"name":)" << json::quote(device_names_[d]) << "}}";
    out << ",\n"
        << R"({"ph":"M","name":"process_sort_index","pid":)" << pid
        << R"(,"tid":0,"args":{"sort_index":)" << pid << "}}";
    for (int tid = 0; tid < thread_count + (d == 0 ? 1 : 0); ++tid) {  // device 0: the host
      const int lane = tid < thread_count ? tid : static_cast<int>(Lane::Host);
      out << ",\n"
          << R"({"ph":"M","name":"thread_name","pid":)" << pid << ",\"tid\":" << lane
          << R"(,"args":{"name":")" << threads[lane] << "\"}}";
    }
  }
}

TraceArgs slice_args(int bucket, int64_t offset, int64_t length, int src, int dst,
                     const char* phase, bool moves) {
  TraceArgs a{moves ? length * 4 : -1, src, dst, phase};
  a.bucket = bucket;
  a.offset = offset;
  a.length = length;
  return a;
}

void Tracer::write_event(std::ostream& out, const TraceRecord& r) const {
  // On the compute and copy lanes src/dst are local devices (-1: the host); on the net lane,
  // global.
  auto device = [&](int d) { return d >= 0 && r.lane != Lane::Net ? global(d) : d; };
  char number[64];
  std::snprintf(number, sizeof number, "%.3f,\"dur\":%.3f", r.begin_us, r.end_us - r.begin_us);
  out << "{\"ph\":\"X\",\"name\":" << json::quote(r.name) << ",\"pid\":" << global(r.rank)
      << ",\"tid\":" << static_cast<int>(r.lane) << ",\"ts\":" << number;
  const TraceArgs& a = r.args;
  const char* comma = "";
  auto field = [&](const char* key) -> std::ostream& {
    out << (*comma ? comma : ",\"args\":{") << '"' << key << "\":";
    comma = ",";
    return out;
  };
  if (a.bytes >= 0) field("bytes") << a.bytes;
  if (a.src != TraceArgs::kNone) field("src") << device(a.src);
  if (a.dst != TraceArgs::kNone) field("dst") << device(a.dst);
  if (a.peer != TraceArgs::kNone) field("peer") << a.peer;
  if (a.bucket != TraceArgs::kNone) field("bucket") << a.bucket;
  if (a.offset >= 0) field("offset") << a.offset;
  if (a.length >= 0) field("length") << a.length;
  if (a.owner != TraceArgs::kNone) field("owner") << global(a.owner);
  if (a.phase) field("phase") << json::quote(a.phase);
  if (r.cpu.work) {
    std::snprintf(number, sizeof number, "%.3f", std::max(0.0, r.cpu.cpu_us));
    field("cpu_us") << number;
    field("thread") << r.cpu.thread;
    if (!r.cpu.one_thread) field("several_threads") << "true";
  }
  out << (*comma ? "}}" : "}");
}

std::string Tracer::json() {
  const std::vector<TraceRecord> all = records();
  std::ostringstream out;
  out << "{\"displayTimeUnit\":\"ms\",";
  if (several_) {
    out << "\"cudp\":{\"rank\":" << process_.rank << ",\"ranks\":" << process_.ranks
        << ",\"host\":" << json::quote(process_.host)
        << ",\"first_device\":" << process_.first_device << ",\"devices\":[";
    for (std::size_t d = 0; d < process_.devices.size(); ++d)
      out << (d ? "," : "") << json::quote(process_.devices[d]);
    char net[160];
    std::snprintf(net, sizeof net, "{\"busy_ms\":%.3f,\"exposed_ms\":%.3f,\"hidden_ms\":%.3f}",
                  net_busy_ms_, net_exposed_ms_, std::max(0.0, net_busy_ms_ - net_exposed_ms_));
    out << "],\"origin\":\"" << (has_origin_ ? "shared" : "first event") << "\",\"net\":" << net
        << "},";
  }
  out << "\"traceEvents\":[\n";
  write_metadata(out);
  bool first = device_names_.empty();
  for (const TraceRecord& r : all) {
    out << (first ? "" : ",\n");
    first = false;
    write_event(out, r);
  }
  out << "\n]}\n";
  return out.str();
}

void Tracer::write(const std::string& path) { write_file_atomically(path, json()); }

}  // namespace cudp
