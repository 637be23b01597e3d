// `cudp train`: the article's training loop on one device or several, with a
// progress line every --log-every steps, the held-out accuracy after every
// epoch, and a summary.
//
// Every run goes through parallel/'s trainers, one device included: with one
// device the DataParallel step has nothing to broadcast or reduce and computes
// bitwise what model/trainer.h's one-device Trainer computes (a test checks
// it). The step line's `comm` is the time the first device spent in the
// broadcast, gather, scatter and reduction phases, waiting for the others included.
#include <chrono>
#include <cstdio>
#include <iomanip>

#include "apps/cli.h"
#include "apps/train_config.h"
#include "model/data/dataset.h"
#include "model/models.h"
#include "model/trainer.h"
#include "model/weights.h"
#include "parallel/device_group.h"
#include "parallel/parallel_trainer.h"
#include "runtime/device_spec.h"

namespace cudp {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

void print_config(std::ostream& out, const TrainConfig& c, const Sequential& net,
                  int64_t total_steps, int64_t steps_per_epoch) {
  auto row = [&out](const char* key, const std::string& value) {
    out << "  " << std::left << std::setw(12) << key << value << "\n";
  };
  out << "cudp train\n";
  row("model", c.model + " (" + with_commas(net.param_count()) + " parameters)");
  row("input", shape_str(c.input));
  row("data",
      concat(c.data, " (", c.train_size, " train, ", c.test_size, " held-out, seed ", c.seed, ")"));
  row("devices", concat(device_list_str(c.devices), " (--devices ", c.devices_spec, ")"));
  if (c.devices.size() == 1)
    row("parallel", "none (one device)");
  else
    row("parallel",
        concat(parallel_mode_name(c.parallel), ", reduce ", reduce_algorithm_name(c.reduce),
               ", chunks of ", c.chunk_bytes, " bytes",
               c.parallel == ParallelMode::DataParallel
                   ? ", output device " + c.devices[static_cast<size_t>(c.output_rank)].str()
                   : std::string(),
               c.check_replicas ? ", replicas checked" : ""));
  row("batch", std::to_string(c.batch));
  row("schedule", concat(total_steps, " steps (", steps_per_epoch, " per epoch)"));
  row("optimizer",
      concat("SGD lr ", c.sgd.lr, " momentum ", c.sgd.momentum, " dampening ", c.sgd.dampening,
             " weight_decay ", c.sgd.weight_decay, c.sgd.nesterov ? " nesterov" : ""));
  row("init", c.init_path.empty() ? concat("PyTorch default, seed ", c.seed) : c.init_path);
  if (!c.save_path.empty()) row("save", c.save_path);
  if (!c.trace_path.empty()) row("trace", c.trace_path);
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%5.1f%%", 100.0 * fraction);
  return buf;
}

}  // namespace

int train_command(const std::vector<std::string>& args, std::ostream& out) {
  std::string help;
  const TrainConfig c = parse_train_config(args, &help);
  if (c.help) {
    out << "usage: cudp train [flags]\n\nTrains a model with SGD and prints its progress.\n\n"
        << help;
    return 0;
  }
  DeviceGroup group(c.devices, c.seed);
  std::unique_ptr<Tracer> tracer;
  if (!c.trace_path.empty()) {
    std::vector<std::string> names;
    for (int r = 0; r < group.size(); ++r) names.push_back(group[r].name());
    tracer = std::make_unique<Tracer>(names);
  }
  ParallelOptions options;
  options.mode = c.parallel;
  options.collectives.algorithm = c.reduce;
  options.collectives.chunk_bytes = c.chunk_bytes;
  options.output_rank = c.output_rank;
  options.check_replicas = c.check_replicas;
  options.tracer = tracer.get();
  const NetFactory factory = [&c](Device device, uint64_t seed) {
    auto built = build_model(c.model, c.input, device);
    built->init(seed);
    return built;
  };
  auto trainer = make_parallel_trainer(group, factory, c.sgd, options);
  Sequential* net = &trainer->net();
  if (!c.init_path.empty()) load_weights(*net, c.init_path);

  const DataSplit data = c.data == "synthetic"
                             ? make_synthetic(c.input, c.train_size, c.test_size, c.seed)
                             : make_random(c.input, c.train_size, c.test_size, c.seed);
  const int64_t steps_per_epoch = (data.train.size() + c.batch - 1) / c.batch;
  const int64_t total_steps = c.steps ? c.steps : c.epochs * steps_per_epoch;
  const int64_t total_epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;
  print_config(out, c, *net, total_steps, steps_per_epoch);

  std::vector<float> x(static_cast<size_t>(c.batch * data.train.sample_numel()));
  std::vector<int32_t> y(static_cast<size_t>(c.batch));

  const auto start = Clock::now();
  auto window_start = start;
  double window_loss = 0, window_comm = 0;
  int64_t window_correct = 0, window_samples = 0, window_steps = 0, samples = 0;
  int64_t step = 0;
  EvalStats held_out;
  for (int64_t epoch = 0; step < total_steps; ++epoch) {
    const std::vector<int64_t> order = epoch_order(data.train.size(), c.seed, epoch, true);
    for (int64_t first = 0; first < data.train.size() && step < total_steps; first += c.batch) {
      const int64_t n = std::min(c.batch, data.train.size() - first);
      gather_batch(data.train, order, first, n, x.data(), y.data());
      const StepStats s = trainer->step(x.data(), y.data(), n);
      window_comm += trainer->last_communication_ms();
      ++step;
      samples += n;
      window_loss += s.loss;
      window_correct += s.correct;
      window_samples += n;
      ++window_steps;
      if (step % c.log_every == 0 || step == total_steps) {
        const double elapsed = seconds_since(window_start);
        char line[200];
        std::snprintf(
            line, sizeof line,
            "step %*lld/%lld  loss %.4f  acc %s  %7.2f ms/step  %8.1f samples/s"
            "  comm %6.2f ms/step",
            static_cast<int>(std::to_string(total_steps).size()), static_cast<long long>(step),
            static_cast<long long>(total_steps), window_loss / window_steps,
            percent(static_cast<double>(window_correct) / window_samples).c_str(),
            1000.0 * elapsed / window_steps, window_samples / elapsed, window_comm / window_steps);
        out << line << "\n" << std::flush;
        window_start = Clock::now();
        window_loss = window_comm = 0;
        window_correct = window_samples = window_steps = 0;
      }
    }
    if (data.test.size() > 0) {
      const auto eval_start = Clock::now();
      held_out = trainer->evaluate(data.test, c.batch);
      char line[160];
      std::snprintf(line, sizeof line, "epoch %lld/%lld  held-out loss %.4f  acc %s  (%.2f s)",
                    static_cast<long long>(epoch + 1), static_cast<long long>(total_epochs),
                    held_out.loss, percent(held_out.accuracy()).c_str(), seconds_since(eval_start));
      out << line << "\n" << std::flush;
      window_start = Clock::now();  // the evaluation is not training time
    }
  }
  const double total = seconds_since(start);
  out << "done: " << step << " steps, " << samples << " samples in " << std::fixed
      << std::setprecision(2) << total << " s (" << std::setprecision(1) << samples / total
      << " samples/s incl. evaluation)";
  if (data.test.size() > 0)
    out << "; held-out accuracy " << percent(held_out.accuracy()) << ", loss "
        << std::setprecision(4) << held_out.loss;
  out << "\n";
  if (tracer) {
    tracer->write(c.trace_path);
    out << "wrote the trace of " << step << " steps to " << c.trace_path << "\n";
  }
  if (!c.save_path.empty()) {
    save_weights(*net, c.save_path,
                 {{"model", c.model},
                  {"input", shape_str(c.input)},
                  {"steps", std::to_string(step)},
                  {"format", "cudp"}});
    out << "saved " << net->named_params().size() << " tensors (" << with_commas(net->param_count())
        << " parameters) to " << c.save_path << "\n";
  }
  return 0;
}

}  // namespace cudp
