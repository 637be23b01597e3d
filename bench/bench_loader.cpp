// The data loader against the training step it feeds: batches/s of
// BatchLoader::next (a shuffled gather from host memory, data/loader.h)
// and of the one-device CPU step of seed-pool on 1x28x28 (the --data
// fashion-mnist run's), batch 64.
//
// The loader must deliver batches at least 10x faster than the step consumes
// them, so that it never shows in a run's time. Per batch, the loader moves
// 64 samples x 784 floats = 200,704 bytes (read from a shuffled place in a
// 188 MB Fashion-MNIST-sized set, written contiguously) and the step does about
// 64 x 56 MFLOP. BM_LoaderVsStep times both in one process and reports
//   loader_batches_per_s, step_batches_per_s, speedup (= their ratio)
// and fails (SkipWithError) when the speedup is under 10.
//   build/bench/bench_loader [--benchmark_out=loader.json --benchmark_out_format=json]
#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

#include "data/loader.h"
#include "model/models.h"
#include "model/one_device_trainer.h"
#include "runtime/rng.h"

namespace {

using namespace cudp;
using Clock = std::chrono::steady_clock;

constexpr int64_t kBatch = 64;
const Shape kInput{1, 28, 28};

// A Fashion-MNIST-sized training set (60,000 x 1x28x28), pixels as the loader stores them.
const Dataset& fashion_sized() {
  static const Dataset data = [] {
    Dataset d;
    d.name = "fashion-sized";
    d.sample_shape = kInput;
    const int64_t n = 60000, numel = shape_numel(kInput);
    d.images.resize(static_cast<size_t>(n * numel));
    Rng rng(7);
    for (float& v : d.images) v = static_cast<float>(rng.below(256)) / 255.0f;
    for (int64_t i = 0; i < n; ++i) d.labels.push_back(static_cast<int32_t>(rng.below(10)));
    return d;
  }();
  return data;
}

double loader_seconds_per_batch(BatchLoader& loader, std::vector<float>& x, std::vector<int32_t>& y,
                                int batches) {
  const auto start = Clock::now();
  for (int i = 0; i < batches; ++i) benchmark::DoNotOptimize(loader.next(x.data(), y.data()));
  return std::chrono::duration<double>(Clock::now() - start).count() / batches;
}

void BM_Loader(benchmark::State& state) {
  const Dataset& data = fashion_sized();
  BatchLoader loader(data, kBatch, 1, /*shuffle=*/true, /*drop_last=*/false);
  std::vector<float> x(static_cast<size_t>(kBatch * data.sample_numel()));
  std::vector<int32_t> y(kBatch);
  for (auto _ : state) benchmark::DoNotOptimize(loader.next(x.data(), y.data()));
  state.counters["batches_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(state.iterations() * kBatch * data.sample_numel() * 4);
}
BENCHMARK(BM_Loader)->Unit(benchmark::kMicrosecond);

void BM_LoaderVsStep(benchmark::State& state) {
  const Dataset& data = fashion_sized();
  BatchLoader loader(data, kBatch, 1, true, false);
  std::vector<float> x(static_cast<size_t>(kBatch * data.sample_numel()));
  std::vector<int32_t> y(kBatch);
  auto net = build_model("seed-pool", kInput, cpu_device());
  net->init(0);
  SgdOptions sgd;
  sgd.lr = 0.02f;
  sgd.momentum = 0.9f;
  OneDeviceTrainer trainer(*net, Context{cpu_device()}, sgd);
  loader.next(x.data(), y.data());
  trainer.step(x.data(), y.data(), kBatch);  // warm-up: buffers allocated
  double loader_s = 0, step_s = 0;
  for (auto _ : state) {
    loader_s = loader_seconds_per_batch(loader, x, y, 200);
    const auto start = Clock::now();
    for (int i = 0; i < 5; ++i) trainer.step(x.data(), y.data(), kBatch);
    step_s = std::chrono::duration<double>(Clock::now() - start).count() / 5;
  }
  state.counters["loader_batches_per_s"] = 1.0 / loader_s;
  state.counters["step_batches_per_s"] = 1.0 / step_s;
  state.counters["speedup"] = step_s / loader_s;
  if (step_s / loader_s < 10)
    state.SkipWithError("the loader is less than 10x faster than the step it feeds");
}
BENCHMARK(BM_LoaderVsStep)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
