// See explain_run.h. The same order of setup as train_command.cpp: data,
// devices, trainer, --init, then the loader's batches.
#include "apps/explain_run.h"

#include "checkpoint/weights.h"
#include "data/loader.h"
#include "model/models.h"
#include "parallel/device_group.h"
#include "parallel/parallel_trainer.h"
#include "runtime/error.h"

namespace cudp {
namespace {

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

}  // namespace

TracedRun run_traced_steps(const TrainConfig& config, int64_t steps) {
  TrainConfig c = config;
  const DataSplit data = load_data(c.data, &c.input, c.input_given, c.model, c.seed);
  DeviceGroup group(c.devices, c.seed, c.threads);
  group.set_math(c.math);
  TracedRun run;
  std::vector<std::string> names;
  for (int r = 0; r < group.size(); ++r) {
    run.devices.push_back(group[r].device.str());
    names.push_back(group[r].name());
  }
  Tracer tracer(names);
  const int64_t classes = data.train.classes;
  const NetFactory factory = [&c, classes](Device device, uint64_t seed) {
    auto built = build_model(c.model, c.input, device, classes);
    built->init(seed);
    return built;
  };
  auto trainer = make_parallel_trainer(group, factory, c.sgd, parallel_options(c, &tracer));
  Sequential& net = trainer->net();
  if (!c.init_path.empty()) load_weights(net, c.init_path);
  run.parameters = net.param_count();
  run.buckets = describe_buckets(trainer->plan(), net);
  const BucketPlan& plan = trainer->plan();
  run.bucket_count = static_cast<int>(plan.buckets().size());
  std::vector<Bucket> buckets = plan.buckets();
  if (c.parallel == ParallelMode::Distributed) buckets.push_back(plan.whole());  // step 1
  for (const Bucket& b : buckets) {
    const Route route = plan.route(b, group.size());
    run.any_parts = run.any_parts || (route == Route::Parts && b.id != plan.whole().id);
    run.routes += concat(run.routes.empty() ? "" : ", ", b.id,
                         b.id == plan.whole().id ? " = the whole buffer" : "", " (",
                         with_commas(4 * b.count), " bytes) ",
                         route == Route::Parts ? "parts"
                         : route == Route::Net ? "net"
                                               : "whole");
  }

  BatchLoader loader(data.train, c.batch, c.seed, c.shuffle, c.drop_last);
  std::vector<float> x(static_cast<size_t>(c.batch * data.train.sample_numel()));
  std::vector<int32_t> y(static_cast<size_t>(c.batch));
  for (int64_t s = 0; s < steps; ++s) {
    trainer->set_lr(c.lr_at(loader.position().epoch));
    const int64_t n = loader.next(x.data(), y.data());
    trainer->step(x.data(), y.data(), n);
    run.shards.clear();
    for (const Shard& shard : chunk_batch(n, group.size())) run.shards.push_back(shard.size);
  }
  run.records = tracer.records();
  if (!c.trace_path.empty()) tracer.write(c.trace_path);
  return run;
}

}  // namespace cudp
