// Shared by the parallel tests: a small seed-pool (3x8x8, 175k parameters),
// seeded batches, the one-device Trainer as the reference, and runners that
// train N devices on the same batches.
#pragma once

#include <memory>
#include <vector>

#include "model/models.h"
#include "model/one_device_trainer.h"
#include "parallel/device_group.h"
#include "parallel/parallel_trainer.h"
#include "runtime/rng.h"

namespace cudp::test {

inline const Shape kInput{3, 8, 8};

inline SgdOptions test_sgd() {
  SgdOptions sgd;
  sgd.lr = 0.05f;  // large enough that 5 steps move every parameter well past the tolerance
  sgd.momentum = 0.9f;
  return sgd;
}

inline std::vector<Device> cpus(int n) {
  std::vector<Device> d;
  for (int i = 0; i < n; ++i) d.push_back(cpu_device(i));
  return d;
}

inline NetFactory small_factory(const Shape& input = kInput) {
  return [input](Device device, uint64_t seed) {
    auto net = build_model("seed-pool", input, device);
    net->init(seed);
    return net;
  };
}

struct Batch {
  std::vector<float> x;
  std::vector<int32_t> y;
  int64_t size() const { return static_cast<int64_t>(y.size()); }
};

// `steps` batches of `size` samples: x ~ N(0,1), labels in [0, 10).
inline std::vector<Batch> make_batches(int steps, int64_t size, uint64_t seed,
                                       const Shape& input = kInput) {
  Rng rng(seed);
  std::vector<Batch> batches(static_cast<std::size_t>(steps));
  for (Batch& b : batches) {
    b.x.resize(static_cast<std::size_t>(size * shape_numel(input)));
    for (float& v : b.x) v = static_cast<float>(rng.normal());
    for (int64_t i = 0; i < size; ++i) b.y.push_back(static_cast<int32_t>(rng.below(10)));
  }
  return batches;
}

inline std::vector<float> host_params(const Sequential& net) {
  return std::vector<float>(net.params(), net.params() + net.param_count());  // CPU memory
}

struct Trained {
  std::vector<float> params;  // rank 0's
  std::vector<float> losses;
  std::vector<int64_t> correct;
};

inline Trained train_one_device(const std::vector<Batch>& batches, uint64_t seed = 3) {
  auto net = small_factory()(cpu_device(0), seed);
  OneDeviceTrainer trainer(*net, Context{cpu_device(0)}, test_sgd());
  Trained t;
  for (const Batch& b : batches) {
    const StepStats s = trainer.step(b.x.data(), b.y.data(), b.size());
    t.losses.push_back(s.loss);
    t.correct.push_back(s.correct);
  }
  t.params = host_params(*net);
  return t;
}

inline Trained train_parallel(const std::vector<Batch>& batches, int devices,
                              ParallelOptions options, uint64_t seed = 3,
                              std::vector<std::vector<float>>* all_replicas = nullptr) {
  DeviceGroup group(cpus(devices), seed);
  auto trainer = make_parallel_trainer(group, small_factory(), test_sgd(), options);
  Trained t;
  for (const Batch& b : batches) {
    const StepStats s = trainer->step(b.x.data(), b.y.data(), b.size());
    t.losses.push_back(s.loss);
    t.correct.push_back(s.correct);
  }
  t.params = host_params(trainer->net());
  if (all_replicas)
    for (int r = 0; r < devices; ++r) all_replicas->push_back(host_params(trainer->replica_net(r)));
  return t;
}

inline ParallelOptions mode(ParallelMode m, ReduceAlgorithm a = ReduceAlgorithm::Tree) {
  ParallelOptions o;
  o.mode = m;
  o.plan.algorithm = a;
  return o;
}

}  // namespace cudp::test
