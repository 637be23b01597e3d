// The Communicator on CPU devices, after nccl-tests: reduce, broadcast and
// all_reduce, tree, star and ring, N = 2, 4, 8 logical CPU devices, 4 KiB to
// --max-bytes (default 64 MiB: 8 ranks of 256 MiB do not fit a 2-core, 23 GB
// machine's patience; pass --max-bytes=256M for nccl-tests' full range).
//
//   time   wall time of one collective, from the host's call to the group's
//          synchronize (manual time: Google Benchmark's CPU time would only
//          count the host thread, which mostly waits)
//   algbw  bytes / time, bytes being ONE rank's buffer (bytes/s)
//   busbw  algbw * 2(N-1)/N for all_reduce, algbw for reduce and broadcast
//          (nccl-tests' definitions: what one link carries)
//   memcpy_bw  a plain single-threaded memcpy of the same size on this machine,
//          the ceiling of one edge (bytes/s)
//   sent_max, recv_max  the most bytes one rank sends and receives, in buffers
//          (bytes / S); the label has every rank's, "sent/received": counted
//          from a traced call (the src and dst of each copy and peer_add), not
//          from a formula. A ring moves 2(N-1)/N per rank in an all_reduce; a
//          tree's root receives log2(N) buffers and sends as many back.
// Each call is one bucket holding the whole buffer (BucketPlan::whole()), through
// the same API and plan as a training step's buckets: a buffer of 2^18 floats
// or more on CPU devices takes the Parts route, smaller ones the Whole route.
// Every configuration is validated before it is timed (rank r contributes r+1;
// the sum is N(N+1)/2 exactly): a wrong result is reported as an error, never a time.
//
//   build/bench/bench_collectives --benchmark_out=collectives.json --benchmark_out_format=json
//   build/bench/bench_collectives --max-bytes=256M --benchmark_filter='all_reduce/tree'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "parallel/communicator.h"
#include "parallel/trace.h"
#include "runtime/error.h"

namespace {

using namespace cudp;
using Clock = std::chrono::steady_clock;

enum class Kind { Reduce, Broadcast, AllReduce };
const char* kind_name(Kind k) {
  return k == Kind::Reduce ? "reduce" : k == Kind::Broadcast ? "broadcast" : "all_reduce";
}

std::size_t max_bytes = std::size_t{64} << 20;

void run(Communicator& c, Kind kind, const std::vector<float*>& buffers) {
  const Bucket& whole = c.plan().whole();
  const int ranks = static_cast<int>(buffers.size());
  if (kind == Kind::Reduce) c.reduce(whole, buffers, c.ready_now(ranks));
  if (kind == Kind::Broadcast) c.broadcast(whole, buffers);
  if (kind == Kind::AllReduce) c.all_reduce(whole, buffers, c.ready_now(ranks));
  c.finish(whole, ranks);
}

double memcpy_rate(std::size_t bytes) {
  std::vector<char> a(bytes, 1), b(bytes);
  std::memcpy(b.data(), a.data(), bytes);  // touch the pages first
  const int reps = static_cast<int>(std::max<std::size_t>(1, (std::size_t{256} << 20) / bytes));
  const auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) {
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return static_cast<double>(bytes) * reps / s;
}

void bm_collective(benchmark::State& state, Kind kind, ReduceAlgorithm algorithm) {
  const int ranks = static_cast<int>(state.range(0));
  const auto bytes = static_cast<std::size_t>(state.range(1));
  const int64_t n = static_cast<int64_t>(bytes / 4);
  std::vector<Device> devices;
  for (int r = 0; r < ranks; ++r) devices.push_back(cpu_device(r));
  DeviceGroup group(devices, 0);
  const BucketPlan plan(std::vector<int64_t>{n}, group, {algorithm, std::size_t{1} << 20});
  Communicator c(group, plan);
  std::vector<Buffer<float>> owned;
  std::vector<float*> buffers;
  for (int r = 0; r < ranks; ++r) {
    owned.emplace_back(cpu_device(r), static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) owned.back().data()[i] = float(r + 1);
    buffers.push_back(owned.back().data());
  }
  // Validate before timing.
  run(c, kind, buffers);
  group.synchronize();
  const float expected = kind == Kind::Broadcast ? 1.0f : ranks * (ranks + 1) / 2.0f;
  for (int r = 0; r < (kind == Kind::Reduce ? 1 : ranks); ++r)
    for (int64_t i = 0; i < n; i += 1 + n / 64)
      if (owned[r].data()[i] != expected) {
        state.SkipWithError(
            concat("rank ", r, " element ", i, ": ", owned[r].data()[i], " instead of ", expected)
                .c_str());
        return;
      }
  // Who moves what: one traced call, each copy's and peer_add's bytes to its src and dst.
  std::vector<std::string> names;
  for (int r = 0; r < ranks; ++r) names.push_back(group[r].name());
  Tracer tracer(names);
  c.set_tracer(&tracer);
  run(c, kind, buffers);
  group.synchronize();
  tracer.flush();
  c.set_tracer(nullptr);
  std::vector<double> sent(static_cast<std::size_t>(ranks)), received(sent.size());
  for (const TraceRecord& e : tracer.records())
    if (e.args.bytes > 0 && e.args.src >= 0 && e.args.dst >= 0) {
      sent[static_cast<std::size_t>(e.args.src)] += static_cast<double>(e.args.bytes) / bytes;
      received[static_cast<std::size_t>(e.args.dst)] += static_cast<double>(e.args.bytes) / bytes;
    }
  std::string label = "sent/received per rank:";
  for (int r = 0; r < ranks; ++r) {
    char cell[32];
    std::snprintf(cell, sizeof cell, " %.2f/%.2f", sent[static_cast<std::size_t>(r)],
                  received[static_cast<std::size_t>(r)]);
    label += cell;
  }
  state.SetLabel(label);
  for (auto _ : state) {
    const auto t0 = Clock::now();
    run(c, kind, buffers);
    group.synchronize();
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  const double factor = kind == Kind::AllReduce ? 2.0 * (ranks - 1) / ranks : 1.0;
  // Rates in bytes/s (printed with SI prefixes: 3.5G/s is 3.5 GB/s).
  state.counters["algbw"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["busbw"] = benchmark::Counter(static_cast<double>(bytes) * factor,
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.counters["memcpy_bw"] = memcpy_rate(bytes);
  state.counters["sent_max"] = *std::max_element(sent.begin(), sent.end());
  state.counters["recv_max"] = *std::max_element(received.begin(), received.end());
  state.counters["N"] = ranks;
  state.counters["bytes"] = static_cast<double>(bytes);
}

void register_all() {
  for (Kind kind : {Kind::AllReduce, Kind::Reduce, Kind::Broadcast}) {
    for (ReduceAlgorithm a :
         {ReduceAlgorithm::Tree, ReduceAlgorithm::Star, ReduceAlgorithm::Ring}) {
      const std::string name = std::string(kind_name(kind)) + "/" + reduce_algorithm_name(a);
      auto* b = benchmark::RegisterBenchmark(name.c_str(), bm_collective, kind, a);
      for (int ranks : {2, 4, 8})
        for (std::size_t bytes = 4096; bytes <= max_bytes; bytes *= 4)
          b->Args({ranks, static_cast<int64_t>(bytes)});
      b->ArgNames({"N", "bytes"})->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(0.05);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Our own flag first; Google Benchmark refuses flags it does not know.
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--max-bytes=", 0) == 0) {
      std::string v = arg.substr(12);
      std::size_t shift = 0;
      if (!v.empty() && (v.back() == 'M' || v.back() == 'K')) {
        shift = v.back() == 'M' ? 20 : 10;
        v.pop_back();
      }
      max_bytes = std::stoull(v) << shift;
      continue;
    }
    rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  register_all();
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
