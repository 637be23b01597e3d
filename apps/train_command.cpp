// `cudp train`: the article's training loop on one device or several, with a
// progress line every --log-every steps, the test (held-out) accuracy and loss
// after every epoch, checkpoints, a JSON-lines log, and a summary.
//
// Every run goes through parallel/'s trainers, one device included: with one
// device the DataParallel step has nothing to broadcast or reduce and computes
// bitwise what model/one_device_trainer.h's OneDeviceTrainer computes (a test checks
// it). The step line's `comm` is the first device's exposed communication:
// the wall time in which some copy, reduce add or transfer runs on one of its
// streams and none of its compute does (parallel/comm_clock.h); beside it,
// `moved` is all of that movement time and the share of it hidden. A wait for
// a slower replica is not communication. The figures are the first device's,
// as the first device is the one that steps in dp.
// Under mpirun every rank writes its own trace (--trace out.json: out.rank1.json)
// with global device indices and a time origin taken right after a barrier
// that every rank passes just before the first step, whether it traces or not
// (--trace is not a shared setting), so `cudp trace merge` lines them up.
// Batches come from a BatchLoader whose position (epoch, offset) is all a
// checkpoint needs to resume on the next batch; the epoch's evaluation runs
// before a --save-every checkpoint at the same step, so a resumed run's log
// has each epoch line once.
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <thread>

#include "apps/cli.h"
#include "apps/launch.h"
#include "apps/output_paths.h"
#include "apps/train_checkpoint.h"
#include "apps/train_config.h"
#include "apps/training_log.h"
#include "checkpoint/checkpoint.h"
#include "checkpoint/weights.h"
#include "data/loader.h"
#include "model/models.h"
#include "parallel/device_group.h"
#include "parallel/parallel_trainer.h"
#include "runtime/device_spec.h"
#include "runtime/log.h"
#include "runtime/stream.h"

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

std::string milestones_str(const std::vector<int64_t>& epochs) {
  std::string out;
  for (int64_t e : epochs) out += (out.empty() ? "" : ",") + std::to_string(e);
  return out;
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%5.1f%%", 100.0 * fraction);
  return buf;
}

void print_config(std::ostream& out, const TrainConfig& c, const Sequential& net,
                  const DataSplit& data, int64_t total_steps, int64_t steps_per_epoch,
                  const std::string& processes, const BucketPlan& plan) {
  auto row = [&out](const char* key, const std::string& value) {
    out << "  " << std::left << std::setw(12) << key << value << "\n";
  };
  const bool files = c.data.source.from_files();
  out << "cudp train\n";
  row("model", c.model + " (" + with_commas(net.param_count()) + " parameters)");
  row("input", shape_str(c.input));
  row("data", concat(c.data.text(), " (", data.train.size(), " train, ", data.test.size(),
                     files ? " test" : " held-out", ", seed ", c.seed,
                     c.shuffle ? ", shuffled" : ", file order", c.drop_last ? ", drop last" : "",
                     files ? ", " + c.data.norm.str() : "", ")"));
  row("devices", concat(device_list_str(c.devices), " (--devices ", c.devices_spec, ")",
                        c.devices[0].is_cpu()
                            ? concat(", ", c.threads, " thread", c.threads == 1 ? "" : "s", " each")
                            : std::string()));
  if (!processes.empty()) row("processes", processes);
  if (!processes.empty())
    row("parallel", concat(parallel_mode_name(c.parallel), ", reduce ",
                           reduce_algorithm_name(c.reduce), ", across processes ",
                           inter_process_name(c.inter), ", timeout ", c.timeout_s, " s",
                           c.textbook ? ", textbook" : ""));
  else if (c.devices.size() == 1)
    row("parallel", "none (one device)");
  else
    row("parallel", parallel_row(c));
  if (!processes.empty() || c.devices.size() > 1)
    row("buckets", concat(plan.buckets().size(),
                          c.textbook ? (c.parallel == ParallelMode::DataParallel
                                            ? " (textbook: the whole buffer)"
                                            : concat(" (textbook: DDP's reducer, cap ",
                                                     c.bucket_cap_bytes, " bytes, first ",
                                                     plan.options().first_bucket_bytes, ")"))
                                     : std::string(" (one per layer with parameters)"),
                          ", in backward order: ", describe_buckets(plan, net)));
  if (c.math == Math::tf32)
    row("math", c.devices.front().is_cpu()
                    ? "tf32 (GEMM and convolution operands rounded to TF32, emulated on the CPU)"
                    : "tf32 (GEMM and convolution on tensor cores)");
  else
    row("math", "fp32");
  row("batch", std::to_string(c.batch));
  row("schedule", concat(total_steps, " steps (", steps_per_epoch, " per epoch)"));
  row("optimizer",
      concat("SGD lr ", c.sgd.lr, " momentum ", c.sgd.momentum, " dampening ", c.sgd.dampening,
             " weight_decay ", c.sgd.weight_decay, c.sgd.nesterov ? " nesterov" : "",
             c.lr_milestones.empty() ? std::string()
                                     : concat(", lr x ", c.lr_gamma, " after epoch(s) ",
                                              milestones_str(c.lr_milestones))));
  if (!c.resume_path.empty())
    row("resume", c.resume_path);
  else
    row("init", c.init_path.empty() ? concat("PyTorch default, seed ", c.seed) : c.init_path);
  if (!c.save_path.empty())
    row("save",
        c.save_path + (c.save_every ? concat(" (and every ", c.save_every, " steps)") : ""));
  if (!c.log_path.empty()) row("log", c.log_path);
  if (!c.trace_path.empty()) row("trace", c.trace_path);
}

// One process's tracer, or one of several processes' (parallel/trace.h).
std::unique_ptr<Tracer> make_tracer(ProcessGroup& processes, const DeviceGroup& group) {
  std::vector<std::string> devices, names;
  for (int r = 0; r < group.size(); ++r) {
    devices.push_back(group[r].device.str());
    names.push_back(group[r].name());
  }
  if (processes.size() == 1) return std::make_unique<Tracer>(names);
  return std::make_unique<Tracer>(TraceProcess{processes.rank(), processes.size(), processes.host(),
                                               group.layout().first(), devices});
}

// The progress line's running sums since the last one.
struct Window {
  Clock::time_point start = Clock::now();
  double loss = 0;
  CommTime comm;  // summed over the window's steps, as net
  NetTime net;
  int64_t correct = 0, samples = 0, steps = 0;
};

void add(NetTime& sum, const NetTime& step) {
  sum.busy_ms += step.busy_ms;
  sum.exposed_ms += step.exposed_ms;
}

double hidden_share(double hidden_ms, double moved_ms) {
  return moved_ms > 0 ? hidden_ms / moved_ms : 1.0;
}

// "  comm   1.23 ms/step (moved 4.56,  73% hidden)": the first device's.
std::string comm_column(const CommTime& comm, int64_t steps) {
  char text[96];
  std::snprintf(text, sizeof text, "  comm %6.2f ms/step (moved %.2f, %3.0f%% hidden)",
                comm.exposed_ms / steps, comm.moved_ms / steps,
                100.0 * hidden_share(comm.hidden_ms(), comm.moved_ms));
  return text;
}

// " net 2.10 ms/step (81% hidden)": rank 0's time across processes.
std::string net_column(const NetTime& net, int64_t steps) {
  char text[64];
  const double hidden = hidden_share(net.hidden_ms(), net.busy_ms);
  std::snprintf(text, sizeof text, "  net %6.2f ms/step (%3.0f%% hidden)", net.busy_ms / steps,
                100.0 * hidden);
  return text;
}

}  // namespace

int train_command(const std::vector<std::string>& args, std::ostream& out,
                  ProcessGroup& processes) {
  std::string help;
  const Launch launch = launch_of(processes);
  TrainConfig c = parse_train_config(args, &help, launch);
  const bool several = processes.size() > 1;
  const bool writes = processes.rank() == 0;  // rank 0 alone prints, logs and saves
  if (writes && !c.help && !c.devices.empty() && c.devices[0].is_cpu()) {
    const std::string crowded =
        oversubscription_warning(c.devices.size(), c.threads, launch.on_host,
                                 std::max(1u, std::thread::hardware_concurrency()));
    if (!crowded.empty()) log_warn(crowded);
  }
  if (c.help) {
    out << "usage: cudp train [flags]\n\nTrains a model with SGD and prints its progress.\n\n"
        << help;
    return 0;
  }
  check_same_settings(processes, c);
  if (several) processes.set_timeout_s(c.timeout_s);
  if (!c.trace_path.empty() && several) c.trace_path = rank_path(c.trace_path, processes.rank());
  if (!writes) c.save_path = c.log_path = "";
  // Before any work: a path that cannot be written would otherwise fail at the end.
  std::vector<std::string> optimizer_state;
  if (!c.save_path.empty()) optimizer_state.push_back(optimizer_state_path(c.save_path));
  check_outputs({{"--save", c.save_path, OutputWrite::Replace, optimizer_state},
                 {"--log", c.log_path, OutputWrite::Append, {}},
                 {"--trace", c.trace_path, OutputWrite::Replace, {}}});
  const DataSplit data = load_data(c.data, &c.input, c.input_given, c.model, c.seed);
  const bool files = c.data.source.from_files();
  DeviceGroup group(c.devices, c.seed, c.threads);
  group.set_math(c.math);
  if (several) group.join(processes);
  const std::string processes_row = several ? describe_processes(processes, group) : "";
  std::unique_ptr<Tracer> tracer;
  if (!c.trace_path.empty()) tracer = make_tracer(processes, group);
  const ParallelOptions options = parallel_options(c, tracer.get());
  const int64_t classes = data.train.classes;
  const NetFactory factory = [&c, classes](Device device, uint64_t seed) {
    auto built = build_model(c.model, c.input, device, classes);
    built->init(seed);
    return built;
  };
  auto trainer = make_parallel_trainer(group, factory, c.sgd, options);
  Sequential* net = &trainer->net();
  if (!c.init_path.empty()) load_weights(*net, c.init_path);

  BatchLoader loader(data.train, c.batch, c.seed, c.shuffle, c.drop_last);
  const int64_t steps_per_epoch = loader.batches_per_epoch();
  const int64_t total_steps = c.steps ? c.steps : c.epochs * steps_per_epoch;
  const int64_t total_epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;
  TrainingState state;
  if (!c.resume_path.empty()) {
    state = resume_run(c, data, *trainer, out);
    if (state.step >= total_steps)
      fail("--resume ", c.resume_path, ": the run is at step ", state.step,
           " already, and this one ", "ends at step ", total_steps,
           ": give a larger --steps or --epochs (the total)");
    loader.seek(state.loader);
  }
  print_config(out, c, *net, data, total_steps, steps_per_epoch, processes_row, trainer->plan());
  if (state.step > 0)
    out << "resumed at step " << state.step << " (epoch " << state.loader.epoch + 1 << ", sample "
        << state.loader.offset << " of its order)\n";
  TrainingLog log(c.log_path);
  log.write(JsonLine()
                .add("event", std::string("start"))
                .add("model", c.model)
                .add("data", c.data.text())
                .add("devices", device_list_str(c.devices))
                .add("batch", c.batch)
                .add("steps", total_steps)
                .add("steps_per_epoch", steps_per_epoch)
                .add("first_step", state.step + 1)
                .add("lr", static_cast<double>(c.sgd.lr)));

  std::vector<float> x(static_cast<size_t>(c.batch * data.train.sample_numel()));
  std::vector<int32_t> y(static_cast<size_t>(c.batch));
  const char* test_name = files ? "test" : "held-out";
  barrier(processes);  // the traces' common origin: every rank leaves it at about once
  if (tracer && several) tracer->set_origin(host_microseconds());
  const auto start = Clock::now();
  auto epoch_start = start;  // training time only: set again after each evaluation
  Window window;
  NetTime run_net;  // every step's, for the summary
  int64_t samples = 0, run_steps = 0;
  EvalStats tested;
  bool evaluated = false;
  while (state.step < total_steps) {
    trainer->set_lr(c.lr_at(loader.position().epoch));
    const int64_t n = loader.next(x.data(), y.data());
    const StepStats s = trainer->step(x.data(), y.data(), n);
    ++state.step;
    state.loader = loader.position();
    samples += n;
    window.loss += s.loss;
    const CommTime comm = trainer->last_comm_time();
    window.comm.moved_ms += comm.moved_ms;
    window.comm.exposed_ms += comm.exposed_ms;
    add(window.net, trainer->last_net_time());
    add(run_net, trainer->last_net_time());
    ++run_steps;
    window.correct += s.correct;
    window.samples += n;
    ++window.steps;
    const bool epoch_done = loader.epoch_ended();
    const int64_t epoch = state.loader.epoch + (epoch_done ? 0 : 1);  // 1-based, of this step
    if (state.step % c.log_every == 0 || state.step == total_steps) {
      const double elapsed = seconds_since(window.start);
      const double loss = window.loss / window.steps;
      const double accuracy = static_cast<double>(window.correct) / window.samples;
      char line[200];
      std::snprintf(line, sizeof line,
                    "step %*lld/%lld  loss %.4f  acc %s  %7.2f ms/step  %8.1f samples/s",
                    static_cast<int>(std::to_string(total_steps).size()),
                    static_cast<long long>(state.step), static_cast<long long>(total_steps), loss,
                    percent(accuracy).c_str(), 1000.0 * elapsed / window.steps,
                    window.samples / elapsed);
      out << line << comm_column(window.comm, window.steps)
          << (several ? net_column(window.net, window.steps) : "") << "\n" << std::flush;
      JsonLine entry;
      entry.add("event", std::string("step"))
          .add("step", state.step)
          .add("epoch", epoch)
          .add("lr", static_cast<double>(trainer->optimizer().options().lr))
          .add("loss", loss)
          .add("accuracy", accuracy)
          .add("ms_per_step", 1000.0 * elapsed / window.steps)
          .add("samples_per_s", window.samples / elapsed)
          .add("comm_ms_per_step", window.comm.exposed_ms / window.steps)
          .add("moved_ms_per_step", window.comm.moved_ms / window.steps)
          .add("comm_hidden", hidden_share(window.comm.hidden_ms(), window.comm.moved_ms));
      if (several)
        entry.add("net_ms_per_step", window.net.busy_ms / window.steps)
            .add("net_exposed_ms_per_step", window.net.exposed_ms / window.steps);
      log.write(entry);
      window = Window();
    }
    const bool last = state.step == total_steps;
    if ((epoch_done || last) && data.test.size() > 0) {
      const auto eval_start = Clock::now();
      const double epoch_train_s = std::chrono::duration<double>(eval_start - epoch_start).count();
      tested = trainer->evaluate(data.test, c.batch);
      evaluated = true;
      const double eval_s = seconds_since(eval_start);
      char line[200];
      std::snprintf(line, sizeof line, "epoch %lld/%lld  %s loss %.4f  acc %s  (%.2f s; %s %.1f s)",
                    static_cast<long long>(epoch), static_cast<long long>(total_epochs), test_name,
                    tested.loss, percent(tested.accuracy()).c_str(), eval_s,
                    epoch_done ? "epoch" : "partial epoch", epoch_train_s);
      out << line << "\n" << std::flush;
      log.write(JsonLine()
                    .add("event", std::string("epoch"))
                    .add("step", state.step)
                    .add("epoch", epoch)
                    .add_bool("complete", epoch_done)
                    .add("test_loss", tested.loss)
                    .add("test_accuracy", tested.accuracy())
                    .add("epoch_s", epoch_train_s)
                    .add("eval_s", eval_s));
      window.start += Clock::now() - eval_start;  // the evaluation is not training time
    }
    if (epoch_done) epoch_start = Clock::now();
    if (c.save_every && state.step % c.save_every == 0 && state.step != total_steps) {
      const std::string path = step_checkpoint_path(c.save_path, state.step);
      if (writes) save_run(path, *trainer, state, c, data);
      barrier(processes);  // the others go on once rank 0's file is in place
      out << "saved step " << state.step << " to " << path << "\n";
    }
  }
  const double total = seconds_since(start);
  out << "done: " << state.step << " steps, " << samples << " samples in " << std::fixed
      << std::setprecision(2) << total << " s (" << std::setprecision(1) << samples / total
      << " samples/s incl. evaluation)";
  if (evaluated)
    out << "; " << test_name << " accuracy " << percent(tested.accuracy()) << ", loss "
        << std::setprecision(4) << tested.loss;
  out << "\n";
  if (several && run_steps > 0)
    out << "across processes: " << std::setprecision(2) << run_net.busy_ms / run_steps
        << " ms/step in collectives on rank 0 (transfers, their adds, waits for the other ranks), "
        << run_net.exposed_ms / run_steps << " ms/step of it exposed (" << std::setprecision(0)
        << 100.0 * hidden_share(run_net.hidden_ms(), run_net.busy_ms)
        << "% hidden: the first device computed meanwhile)\n";
  if (tracer) {
    tracer->write(c.trace_path);
    out << "wrote the trace of " << state.step << " steps to " << c.trace_path << "\n";
  }
  if (!c.save_path.empty()) {
    save_run(c.save_path, *trainer, state, c, data);
    out << "saved " << net->named_params().size() << " tensors (" << with_commas(net->param_count())
        << " parameters) to " << c.save_path << " and the optimizer state to "
        << optimizer_state_path(c.save_path) << "\n";
  }
  barrier(processes);  // every rank ends once rank 0's files are written
  return 0;
}

}  // namespace cudp
