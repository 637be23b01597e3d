// all_reduce in nccl-tests' columns at both levels of a run, one JSON shape:
//   in-process     (started alone) cudp's own adds and copies between the
//                  logical CPU devices of one process: --algorithm tree,star,ring
//   inter-process  (under mpirun) the communicator's Net route between
//                  processes, --devices on every rank: --inter tree,allreduce,ring
//                  (ring: --reduce ring's hops round every device of every rank)
// Each configuration runs all_reduce of one whole bucket from --min-bytes to
// --max-bytes (one device's buffer), factor --factor. Columns, as nccl-tests:
//   time   mean over ranks of the wall time of one call, the host's call to the
//          group's synchronize (time_max_us: the slowest rank's)
//   algbw  bytes / time     busbw  algbw * 2(n-1)/n, n the devices of all ranks
//
// The decision a reader would get wrong: this is NOT Google Benchmark (which
// bench_collectives is). Google Benchmark picks each benchmark's iteration count
// from its own process's timings, so two ranks pick different counts and the
// one with more waits forever in a collective its peer never calls. Here every
// rank runs the same count: --iters, or (--iters=0) rank 0's choice, from its
// warm-up time, sent to all. Every rank's settings are compared with rank 0's
// first, and a difference is refused on every rank. Both levels go through this
// one timing loop so that one plot compares them.
//
// Global device g contributes g+1, so the sum is n(n+1)/2 exactly; every
// element of every rank is checked before timing and after it (a rank's failure
// is reported by every rank, so none hangs). Timed calls reuse their results:
// the values grow n-fold per call and reach inf, which x86 adds at full speed.
//
//   build/bench/bench_collectives_mpi --devices=cpu:2 --out=in_process.json
//   mpirun -np 2 build/bench/bench_collectives_mpi --devices=cpu:1 --out=inter.json
//   /usr/bin/python3 bench/plot_collectives.py in_process.json inter.json -o busbw.png
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "io/json.h"
#include "io/safetensors.h"
#include "parallel/communicator.h"
#include "runtime/device_spec.h"
#include "runtime/error.h"

namespace {

using namespace cudp;
using Clock = std::chrono::steady_clock;

struct Settings {
  std::string devices = "cpu:2";                                 // per process
  std::vector<std::string> algorithms{"tree", "star", "ring"};   // in-process
  std::vector<std::string> inters{"tree", "allreduce", "ring"};  // inter-process
  std::size_t min_bytes = 4096, max_bytes = std::size_t{256} << 20;
  int factor = 4, iters = 0, warmup = 5;
  double min_time_s = 0.2;  // --iters=0: rank 0 picks the count that fills this
  std::string out;          // JSON, written by rank 0

  std::string text() const {  // every rank's must equal rank 0's
    std::string s = concat("devices=", devices, " min-bytes=", min_bytes, " max-bytes=", max_bytes,
                           " factor=", factor, " iters=", iters, " warmup=", warmup,
                           " min-time=", min_time_s, " inter=");
    for (const std::string& i : inters) s += i + ",";
    return s;
  }
};

std::size_t parse_bytes(const std::string& flag, std::string v) {
  std::size_t shift = 0;
  if (!v.empty() && (v.back() == 'K' || v.back() == 'M' || v.back() == 'G')) {
    shift = v.back() == 'K' ? 10 : v.back() == 'M' ? 20 : 30;
    v.pop_back();
  }
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
    fail(flag, ": expected bytes (4096, 4K, 256M), found '", v, "'");
  const std::size_t bytes = std::stoull(v) << shift;
  if (bytes == 0 || bytes % 4)
    fail(flag, ": expected a positive multiple of 4 bytes, found ", bytes);
  return bytes;
}

std::vector<std::string> parse_list(const std::string& v) {
  std::vector<std::string> items;
  std::stringstream in(v);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  return items;
}

// The library names its parameter ("reduce", "devices"); the user typed a flag.
template <class Parse>
void as_flag(const char* flag, Parse&& parse) {
  try {
    parse();
  } catch (const ParameterError& e) {
    fail(flag, e.value().empty() ? "" : " ", e.value(), ": ", e.message());
  }
}

Settings parse_settings(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::size_t eq = arg.find('=');
    const std::string flag = arg.substr(0, eq),
                      v = eq == std::string::npos ? "" : arg.substr(eq + 1);
    auto number = [&](double lo) {
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(x >= lo))
        fail(flag, ": expected a number >= ", lo, ", found '", v, "'");
      return x;
    };
    if (flag == "--devices")
      s.devices = v;
    else if (flag == "--algorithm")
      s.algorithms = parse_list(v);
    else if (flag == "--inter")
      s.inters = parse_list(v);
    else if (flag == "--min-bytes")
      s.min_bytes = parse_bytes(flag, v);
    else if (flag == "--max-bytes")
      s.max_bytes = parse_bytes(flag, v);
    else if (flag == "--factor")
      s.factor = static_cast<int>(number(2));
    else if (flag == "--iters")
      s.iters = static_cast<int>(number(0));
    else if (flag == "--warmup")
      s.warmup = static_cast<int>(number(1));
    else if (flag == "--min-time")
      s.min_time_s = number(0);
    else if (flag == "--out")
      s.out = v;
    else
      fail("unknown flag '", arg, "'; expected --devices --algorithm --inter --min-bytes ",
           "--max-bytes --factor --iters --warmup --min-time --out");
  }
  as_flag("--algorithm", [&] {
    for (const std::string& a : s.algorithms) parse_reduce_algorithm(a);
  });
  as_flag("--inter", [&] {
    for (const std::string& i : s.inters)
      if (i != "ring") parse_inter_process(i);
  });
  as_flag("--devices", [&] { parse_device_spec(s.devices); });
  if (s.min_bytes > s.max_bytes)
    fail("--min-bytes ", s.min_bytes, " is more than --max-bytes ", s.max_bytes);
  return s;
}

// An error that every rank found alike: each exits with it, no rank is left waiting.
struct EveryRankError : Error {
  using Error::Error;
};

// A failure on some rank, reported identically by every rank (collective).
void agree(ProcessGroup& processes, const std::string& mine) {
  const std::vector<std::string> all = processes.all_gather(mine);
  for (std::size_t p = 0; p < all.size(); ++p)
    if (!all[p].empty())
      throw EveryRankError(concat(processes.size() > 1 ? concat("rank ", p, ": ") : "", all[p]));
}

struct Row {
  std::size_t bytes = 0;
  int iters = 0;
  double time_us = 0, time_max_us = 0, algbw = 0, busbw = 0;  // GB/s
};

struct Config {
  std::string name, level, algorithm, inter;
  std::vector<Row> rows;
};

// One configuration at one size, over a group already joined to its processes.
class AllReduceRun {
 public:
  AllReduceRun(DeviceGroup& group, std::size_t bytes, PlanOptions options)
      : group_(group),
        n_(static_cast<int64_t>(bytes / 4)),
        plan_(std::vector<int64_t>{n_}, group, options),
        comm_(group, plan_) {
    for (int r = 0; r < group.size(); ++r) {
      owned_.emplace_back(group[r].device, static_cast<std::size_t>(n_));
      buffers_.push_back(owned_.back().data());
    }
  }

  void once() {
    const int ranks = group_.size();
    comm_.all_reduce(plan_.whole(), buffers_, comm_.ready_now(ranks));
    comm_.finish(plan_.whole(), ranks);
    group_.synchronize();
    comm_.synchronize();
  }

  // "" or what was wrong: fills g+1, runs once, checks every element.
  std::string validate() {
    const int total = group_.layout().total();
    for (int r = 0; r < group_.size(); ++r)
      std::fill(buffers_[r], buffers_[r] + n_, static_cast<float>(group_.global(r) + 1));
    once();
    const float expected = total * (total + 1) / 2.0f;
    for (int r = 0; r < group_.size(); ++r)
      for (int64_t i = 0; i < n_; ++i)
        if (buffers_[r][i] != expected)
          return concat(n_ * 4, " bytes: global device ", group_.global(r), " element ", i, " is ",
                        buffers_[r][i], ", expected ", expected);
    return "";
  }

 private:
  DeviceGroup& group_;
  int64_t n_;
  BucketPlan plan_;
  Communicator comm_;
  std::vector<Buffer<float>> owned_;
  std::vector<float*> buffers_;
};

std::string number(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", x);  // round-trips: busbw = algbw * factor exactly
  return text;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Row measure(ProcessGroup& processes, DeviceGroup& group, std::size_t bytes, PlanOptions options,
            const Settings& s) {
  AllReduceRun run(group, bytes, options);
  agree(processes, run.validate());
  const auto w0 = Clock::now();
  for (int i = 0; i < s.warmup; ++i) run.once();
  const double warm_s = seconds_since(w0) / s.warmup;
  int iters = s.iters;
  if (iters == 0) {  // rank 0's choice, for every rank
    const int mine = static_cast<int>(std::clamp(std::ceil(s.min_time_s / warm_s), 1.0, 100000.0));
    iters = std::stoi(processes.all_gather(std::to_string(mine))[0]);
  }
  processes.all_gather("");  // a barrier: every rank starts the clock together
  const auto t0 = Clock::now();
  for (int i = 0; i < iters; ++i) run.once();
  const double mine_s = seconds_since(t0) / iters;
  Row row{bytes, iters};
  double sum = 0;
  for (const std::string& t : processes.all_gather(number(mine_s))) {
    sum += std::stod(t);
    row.time_max_us = std::max(row.time_max_us, std::stod(t) * 1e6);
  }
  row.time_us = sum / processes.size() * 1e6;
  const int n = group.layout().total();
  row.algbw = static_cast<double>(bytes) / row.time_us / 1e3;
  row.busbw = row.algbw * (2.0 * (n - 1) / n);
  agree(processes, run.validate());  // the timed calls left it working
  return row;
}

std::string read_first_line(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (key.empty() || line.rfind(key, 0) == 0)
      return key.empty() ? line : line.substr(line.find(':') + 2);
  return "unknown";
}

std::string to_json(const std::vector<Config>& configs, ProcessGroup& processes,
                    const DeviceGroup& group, const std::string& load_before,
                    const std::string& load_after, const Settings& s) {
  const std::time_t now = std::time(nullptr);
  char date[16];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  std::string j = concat(
      "{\n  \"benchmark\": \"bench_collectives_mpi\",\n  \"collective\": "
      "\"all_reduce\",\n  \"type\": \"float32\",\n  \"redop\": \"sum\",\n",
      "  \"date\": \"", date, "\",\n  \"host\": ", json::quote(processes.host()),
      ",\n  \"cpu\": ", json::quote(read_first_line("/proc/cpuinfo", "model name")),
      ",\n  \"load_before\": ", json::quote(load_before),
      ",\n  \"load_after\": ", json::quote(load_after), ",\n  \"processes\": ", processes.size(),
      ",\n  \"devices_per_process\": ", group.size(), ",\n  \"devices\": ", group.layout().total(),
      ",\n  \"devices_spec\": ", json::quote(s.devices), ",\n  \"configurations\": [");
  for (std::size_t c = 0; c < configs.size(); ++c) {
    const Config& k = configs[c];
    j +=
        concat(c ? "," : "", "\n    {\"name\": ", json::quote(k.name),
               ", \"level\": ", json::quote(k.level), ", \"algorithm\": ", json::quote(k.algorithm),
               ", \"inter\": ", json::quote(k.inter), ",\n     \"rows\": [");
    for (std::size_t i = 0; i < k.rows.size(); ++i) {
      const Row& r = k.rows[i];
      j +=
          concat(i ? "," : "", "\n      {\"size\": ", r.bytes, ", \"count\": ", r.bytes / 4,
                 ", \"iterations\": ", r.iters, ", \"time_us\": ", number(r.time_us),
                 ", \"time_max_us\": ", number(r.time_max_us),
                 ", \"algbw_GBps\": ", number(r.algbw), ", \"busbw_GBps\": ", number(r.busbw), "}");
    }
    j += "]}";
  }
  return j + "\n  ]\n}\n";
}

int run(ProcessGroup& processes, const Settings& s) {
  agree(processes, "");  // the settings are compared below; first, every rank is up
  const std::vector<std::string> all = processes.all_gather(s.text());
  for (std::size_t p = 1; p < all.size(); ++p)
    if (all[p] != all[0])
      throw EveryRankError(concat("rank ", p, "'s settings differ from rank 0's, and every rank ",
                                  "must run the same sizes and iterations: rank 0 has '", all[0],
                                  "', rank ", p, " has '", all[p], "'"));
  const bool several = processes.size() > 1;
  const bool writes = processes.rank() == 0;
  const std::vector<Device> devices = parse_device_spec(s.devices);
  for (const Device& d : devices)
    if (!d.is_cpu())
      fail("--devices ", s.devices,
           ": this benchmark fills and checks buffers on the host, so it "
           "takes CPU devices (cpu:N)");
  DeviceGroup group(devices, 0);
  if (several) group.join(processes);
  if (group.layout().total() < 2)
    fail("--devices ", s.devices,
         ": an all_reduce over one device moves nothing; give cpu:2, "
         "or cpu:1 on each of several ranks");
  // Before any work: an output that cannot be written would fail only at the end.
  const std::string folder = s.out.find('/') == std::string::npos
                                 ? "."
                                 : s.out.substr(0, std::max<std::size_t>(1, s.out.rfind('/')));
  agree(processes, writes && !s.out.empty() && ::access(folder.c_str(), W_OK) != 0
                       ? concat("--out ", s.out, ": the folder ", folder, " is not writable")
                       : "");
  const std::string load_before = read_first_line("/proc/loadavg", "");
  std::vector<Config> configs;
  for (const std::string& name : several ? s.inters : s.algorithms) {
    PlanOptions options;
    Config k;
    if (several) {
      const bool ring = name == "ring";  // the global ring, hop by hop
      options.inter = ring ? InterProcess::Tree : parse_inter_process(name);
      options.algorithm = ring ? ReduceAlgorithm::Ring : ReduceAlgorithm::Tree;
      k = {"inter-process " + name,
           "inter-process",
           ring ? "ring" : "tree",
           ring ? "tree" : name,
           {}};
    } else {
      options.algorithm = parse_reduce_algorithm(name);
      k = {"in-process " + name, "in-process", name, "", {}};
    }
    if (writes)
      std::cout << "# all_reduce, " << k.name << ", " << processes.size() << " process(es) x "
                << s.devices << " = " << group.layout().total() << " devices, float32 sum\n"
                << "#      size      count   iters    time(us)  algbw(GB/s)  busbw(GB/s)\n";
    for (std::size_t bytes = s.min_bytes; bytes <= s.max_bytes; bytes *= s.factor) {
      k.rows.push_back(measure(processes, group, bytes, options, s));
      const Row& r = k.rows.back();
      if (writes) {
        char line[128];
        std::snprintf(line, sizeof line, "%11zu %10zu %7d %11.1f %12.3f %12.3f\n", r.bytes,
                      r.bytes / 4, r.iters, r.time_us, r.algbw, r.busbw);
        std::cout << line << std::flush;
      }
    }
    configs.push_back(std::move(k));
  }
  const std::string load_after = read_first_line("/proc/loadavg", "");
  if (writes) {
    std::cout << "# load average (1, 5, 15 min) before: " << load_before
              << "\n# load average after: " << load_after << "\n";
    if (!s.out.empty()) {
      write_file_atomically(s.out, to_json(configs, processes, group, load_before, load_after, s));
      std::cout << "# wrote " << s.out << "\n";
    }
  }
  processes.all_gather("");  // no rank leaves (MPI_Finalize) while another still talks
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<cudp::ProcessGroup> processes;
  try {
    processes = cudp::open_processes();
  } catch (const cudp::Error& e) {
    std::cerr << "bench_collectives_mpi: error: " << e.what() << "\n";
    return 1;
  }
  const std::string who =
      processes->size() > 1 ? cudp::concat("rank ", processes->rank(), ": ") : "";
  try {
    return run(*processes, parse_settings(argc, argv));
  } catch (const EveryRankError& e) {
    if (processes->rank() == 0) std::cerr << "bench_collectives_mpi: error: " << e.what() << "\n";
    return 1;
  } catch (const cudp::Error& e) {
    // Any other error leaves its peers waiting in a collective: MPI_Abort ends them.
    std::cerr << who << "bench_collectives_mpi: error: " << e.what() << "\n";
    if (processes->size() > 1) processes->abort(1);
    return 1;
  }
}
