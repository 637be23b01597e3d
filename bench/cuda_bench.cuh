// The CUDA benchmark's harness: the GPU under test, device inputs filled from
// bench_value, transfers, validation verdicts, and the timed loop.
//
// Timing method (docs/design.md, "Performance method"): one non-blocking stream;
// before each timed iteration a memset of max(2 x L2, 64 MiB) evicts the
// previous iteration's data from L2 (not timed); CUDA events around the work;
// Google Benchmark gets each iteration's event time (UseManualTime). The
// counters GFLOP/s and GB/s are computed from the MEDIAN iteration, which
// `median_ms` reports; Google Benchmark's own time column is the mean. A row
// with GFLOP/s also gets pct_peak, its share of the card's peak (bench/gpu_peak.h:
// SMs x flop per SM per clock x max SM clock), TF32 when the registered name
// contains "tf32", FP32 otherwise; the names come from add_benchmark, so a new
// benchmark needs nothing more than its name.
//
// Device memory is cached by (seed or tag, size) for the whole run, so that
// Google Benchmark's repeated calls of one benchmark do not reallocate or
// refill gigabytes; release_gpu() frees it before main returns (the CUDA
// runtime may be gone when static destructors run).
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_common.h"
#include "bench/gpu_peak.h"
#include "runtime/cuda/check.h"
#include "runtime/memory.h"

namespace cudp::bench {
namespace {  // each .cu file that includes this gets its own copy of the fill kernels

__global__ void fill_values_kernel(float* p, int64_t n, uint32_t seed, float scale) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    p[i] = scale * bench_value(seed, static_cast<uint64_t>(i));
}

__global__ void fill_labels_kernel(int32_t* p, int64_t n, uint32_t seed, int64_t classes) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    p[i] = bench_label(seed, static_cast<uint64_t>(i), classes);
}

}  // namespace

class Gpu {
 public:
  Gpu() {
    CUDP_CUDA_CHECK(cudaSetDevice(0));
    CUDP_CUDA_CHECK(cudaGetDeviceProperties(&prop_, 0));
    // The max SM clock in kHz (cudaDeviceProp::clockRate is gone in CUDA 13).
    CUDP_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz_, cudaDevAttrClockRate, 0));
    CUDP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDP_CUDA_CHECK(cudaEventCreate(&start_));
    CUDP_CUDA_CHECK(cudaEventCreate(&stop_));
    flush_bytes_ = std::max<size_t>(2 * static_cast<size_t>(prop_.l2CacheSize), size_t{64} << 20);
    CUDP_CUDA_CHECK(cudaMalloc(&flush_, flush_bytes_));
    ctx_ = Context{cuda_device(0), reinterpret_cast<CudaStream>(stream_), 1};
  }
  ~Gpu() {
    floats_.clear();
    ints_.clear();
    cudaFree(flush_);
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
    cudaStreamDestroy(stream_);
  }
  Gpu(const Gpu&) = delete;
  Gpu& operator=(const Gpu&) = delete;

  const Context& ctx() const { return ctx_; }
  cudaStream_t stream() const { return stream_; }
  const cudaDeviceProp& prop() const { return prop_; }
  size_t flush_bytes() const { return flush_bytes_; }
  int clock_khz() const { return clock_khz_; }
  // The card's peak in GFLOP/s for `math`; 0 on an architecture gpu_peak.h does not know.
  double peak_gflops(PeakMath math) const {
    return cudp::bench::peak_gflops(prop_.multiProcessorCount, clock_khz_, prop_.major, prop_.minor,
                                    math);
  }

  void sync() { CUDP_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

  // n values scale * bench_value(seed, i), filled once and kept.
  float* input(uint32_t seed, int64_t n, float scale = 1.0f) {
    const std::string key =
        "in:" + std::to_string(seed) + ":" + std::to_string(n) + ":" + std::to_string(scale);
    auto it = floats_.find(key);
    if (it != floats_.end()) return it->second.data();
    Buffer<float> buffer(cuda_device(0), static_cast<size_t>(n));
    refill(buffer.data(), seed, n, scale);
    return floats_.emplace(key, std::move(buffer)).first->second.data();
  }
  // Re-writes p with the values input(seed, n, scale) holds (for ops that update in place).
  void refill(float* p, uint32_t seed, int64_t n, float scale = 1.0f) {
    fill_values_kernel<<<blocks(n), 256, 0, stream_>>>(p, n, seed, scale);
    CUDP_LAUNCH_CHECK("fill_values_kernel", stream_);
  }
  int32_t* labels(uint32_t seed, int64_t n, int64_t classes) {
    const std::string key =
        std::to_string(seed) + ":" + std::to_string(n) + ":" + std::to_string(classes);
    auto it = ints_.find(key);
    if (it != ints_.end()) return it->second.data();
    Buffer<int32_t> buffer(cuda_device(0), static_cast<size_t>(n));
    fill_labels_kernel<<<blocks(n), 256, 0, stream_>>>(buffer.data(), n, seed, classes);
    CUDP_LAUNCH_CHECK("fill_labels_kernel", stream_);
    return ints_.emplace(key, std::move(buffer)).first->second.data();
  }
  // n floats (or ints) named `tag`, poisoned with NaN (0xFF bytes) when first allocated.
  template <class T = float>
  T* output(const std::string& tag, int64_t n) {
    const std::string key =
        "out:" + tag + ":" + std::to_string(n) + ":" + std::to_string(sizeof(T));
    auto it = floats_.find(key);
    if (it == floats_.end()) {
      const int64_t count = (n * static_cast<int64_t>(sizeof(T)) + 3) / 4;
      it = floats_.emplace(key, Buffer<float>(cuda_device(0), static_cast<size_t>(count))).first;
      poison(it->second.data(), count * 4);
    }
    return reinterpret_cast<T*>(it->second.data());
  }
  void poison(void* p, int64_t bytes) {
    CUDP_CUDA_CHECK(cudaMemsetAsync(p, 0xFF, static_cast<size_t>(bytes), stream_));
  }

  // One timed run of `work`: L2 flush (outside the events) if asked, events around.
  float time_ms(const std::function<void()>& work, bool flush_l2) {
    if (flush_l2)
      CUDP_CUDA_CHECK(cudaMemsetAsync(flush_, ++flushes_ & 0xFF, flush_bytes_, stream_));
    CUDP_CUDA_CHECK(cudaEventRecord(start_, stream_));
    work();
    CUDP_CUDA_CHECK(cudaEventRecord(stop_, stream_));
    CUDP_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    CUDP_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms;
  }

 private:
  unsigned blocks(int64_t n) const {
    const int64_t want = (n + 255) / 256, cap = int64_t{prop_.multiProcessorCount} * 16;
    return static_cast<unsigned>(std::max<int64_t>(1, std::min(want, cap)));
  }

  cudaDeviceProp prop_{};
  int clock_khz_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  void* flush_ = nullptr;
  size_t flush_bytes_ = 0;
  int flushes_ = 0;
  Context ctx_;
  std::map<std::string, Buffer<float>> floats_;
  std::map<std::string, Buffer<int32_t>> ints_;
};

inline std::unique_ptr<Gpu>& gpu_instance() {
  static std::unique_ptr<Gpu> instance;
  return instance;
}
inline Gpu& gpu() {
  auto& g = gpu_instance();
  if (!g) g = std::make_unique<Gpu>();
  return *g;
}
inline void release_gpu() { gpu_instance().reset(); }

// ---------------------------------------------------------------- transfers

template <class T>
std::vector<T> download(const T* device_ptr, int64_t n) {
  std::vector<T> host(static_cast<size_t>(n));
  CUDP_CUDA_CHECK(cudaMemcpyAsync(host.data(), device_ptr, n * sizeof(T), cudaMemcpyDeviceToHost,
                                  gpu().stream()));
  gpu().sync();
  return host;
}

template <class T>
Buffer<T> upload(const std::vector<T>& host) {
  Buffer<T> buffer(cuda_device(0), host.size());
  CUDP_CUDA_CHECK(cudaMemcpyAsync(buffer.data(), host.data(), host.size() * sizeof(T),
                                  cudaMemcpyHostToDevice, gpu().stream()));
  gpu().sync();
  return buffer;
}

// A device buffer of n floats poisoned with NaN (for small validation runs).
inline Buffer<float> poisoned(int64_t n) {
  Buffer<float> buffer(cuda_device(0), static_cast<size_t>(n));
  gpu().poison(buffer.data(), n * 4);
  return buffer;
}

inline std::vector<float> host_values(uint32_t seed, int64_t n, float scale = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = scale * bench_value(seed, i);
  return v;
}

// `count` sample indices in [0, n): the first, the last, and pseudo-random ones.
inline std::vector<int64_t> sample_indices(int64_t n, int count = 64) {
  std::vector<int64_t> idx{0, n - 1};
  for (int i = 0; i < count - 2; ++i)
    idx.push_back(static_cast<int64_t>(
        (static_cast<uint64_t>(bench_bits(999, i)) << 24 | bench_bits(998, i)) %
        static_cast<uint64_t>(n)));
  return idx;
}

// Compares a GPU result with the CPU twin's, element by element.
inline std::string compare(const std::string& what, const std::vector<float>& gpu_values,
                           const std::vector<float>& cpu_values, double atol, double rtol) {
  Checker check(what);
  for (size_t i = 0; i < cpu_values.size(); ++i)
    check.value(static_cast<int64_t>(i), gpu_values[i], cpu_values[i], atol, rtol);
  return check.message();
}

// ---------------------------------------------------------------- validation and timing

// Runs `check` once per key for the whole process ("" = matched); on a mismatch
// or an exception the benchmark reports an error instead of a time.
inline bool validated(benchmark::State& state, const std::string& key,
                      const std::function<std::string()>& check) {
  static std::map<std::string, std::string> verdicts;
  auto it = verdicts.find(key);
  if (it == verdicts.end()) {
    std::string verdict;
    try {
      verdict = check();
    } catch (const std::exception& e) {
      verdict = key + ": threw: " + e.what();
    }
    it = verdicts.emplace(key, verdict).first;
  }
  if (it->second.empty()) return true;
  state.SkipWithError(("not timed, validation failed: " + it->second).c_str());
  return false;
}

struct Work {
  double flops = 0;  // per iteration
  double bytes = 0;  // the fewest bytes one iteration must move
  bool flush_l2 = true;
};

// The name add_benchmark registered for the benchmark running now: time_gpu
// reads it to pick the peak (TF32 for names containing "tf32").
inline std::string& running_benchmark_name() {
  static std::string name;
  return name;
}

// The timed loop: one untimed warm-up run, then one event-timed run per iteration.
inline void time_gpu(benchmark::State& state, const std::function<void()>& run, Work work) {
  Gpu& g = gpu();
  run();
  g.sync();
  std::vector<double> ms;
  for (auto _ : state) {
    const float t = g.time_ms(run, work.flush_l2);
    state.SetIterationTime(t * 1e-3);
    ms.push_back(t);
  }
  if (ms.empty()) return;
  std::sort(ms.begin(), ms.end());
  const size_t h = ms.size() / 2;
  const double median = ms.size() % 2 ? ms[h] : 0.5 * (ms[h - 1] + ms[h]);
  state.counters["median_ms"] = median;
  if (work.flops > 0) {
    const double gflops = work.flops / (median * 1e-3) * 1e-9;
    state.counters["GFLOP/s"] = gflops;
    const double peak = g.peak_gflops(peak_math_of(running_benchmark_name()));
    if (peak > 0) state.counters["pct_peak"] = percent_of_peak(gflops, peak);
  }
  if (work.bytes > 0) state.counters["GB/s"] = work.bytes / (median * 1e-3) * 1e-9;
}

// Registers `body` under `name`, manual time; exceptions become errors. The
// default version of an op is labelled "default".
inline void add_benchmark(const std::string& name, bool is_default,
                          std::function<void(benchmark::State&)> body) {
  benchmark::RegisterBenchmark(name.c_str(),
                               [name, body, is_default](benchmark::State& state) {
                                 running_benchmark_name() = name;
                                 try {
                                   if (is_default) state.SetLabel("default");
                                   body(state);
                                 } catch (const std::exception& e) {
                                   state.SkipWithError(e.what());
                                 }
                               })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

// Versions 1..count, or only `only_version` when it is not 0 (--version=V).
inline std::vector<int> versions_to_run(int count, int only_version) {
  std::vector<int> v;
  for (int i = 1; i <= count; ++i)
    if (only_version == 0 || only_version == i) v.push_back(i);
  return v;
}
// "BM_<op>/v:<version>/"; the shape follows.
inline std::string version_name(const std::string& op, int version) {
  return "BM_" + op + "/v:" + std::to_string(version) + "/";
}

void register_gemm_conv(int only_version);  // bench_cuda_gemm_conv.cu

}  // namespace cudp::bench
