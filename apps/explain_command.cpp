// `cudp explain [cudp train's flags]`: runs a few traced steps of the mode the
// flags choose (apps/explain_run.h) and prints the last step taken apart
// (apps/explain.h): per phase and per edge the bytes, the copies, who ran
// them and their time, the order of the sums as a tree
// (parallel/reduce_diagram.h), and the hidden share of the communication.
//
// The flags are `cudp train`'s, parsed and checked by the same code, so a bad
// one gets the same error, with "cudp explain" in it. Refused, with the
// reason: the flags that only make sense for a run that is kept (--epochs,
// --log-every, --log, --save, --save-every, --resume); --steps is the steps
// to run (default 3) and the last one is explained. Under mpirun explain is
// refused in cli.cpp: rank 0 would need every rank's records.
// The decision a reader would get wrong: the step explained is the LAST one,
// the steady state; ddp's first step also broadcasts the parameters, and
// `--steps 1` explains that one instead.
#include <iomanip>
#include <sstream>
#include <thread>

#include "apps/cli.h"
#include "apps/explain.h"
#include "apps/explain_run.h"
#include "apps/launch.h"
#include "apps/output_paths.h"
#include "apps/train_config.h"
#include "parallel/reduce_diagram.h"
#include "runtime/error.h"
#include "runtime/log.h"

namespace cudp {
namespace {

constexpr int64_t kDefaultSteps = 3;

const char* kExplainUsage =
    "usage: cudp explain [cudp train's flags]\n"
    "\n"
    "Runs --steps steps (default 3) of the training `cudp train` runs with the same flags,\n"
    "traced, and takes the last one apart: per phase and per edge the bytes moved, the\n"
    "copies, who ran them and their wall time with its share of the step; per device\n"
    "the bytes in, out and moved by its own streams; the order of the sums as a tree;\n"
    "and how much of the communication compute hid. The tables are markdown. Bytes,\n"
    "copies, edges and who ran them are the same every run; times are not.\n"
    "\n"
    "  copies    copy and peer_add events: they move bytes (a peer_add adds the sender's\n"
    "            buffer into the receiver's in place, so it counts as moving them)\n"
    "  adds      add events: with --edge copy, a received chunk summed by the receiver\n"
    "  run by    the stream's owner: the device whose lane the event is on (as in the\n"
    "            trace), its compute or copy stream, and how many of the events it ran\n"
    "  ms        wall time during which at least one of the row's events runs; the\n"
    "            shares of a table can add up to more than 100% (streams run at once)\n"
    "  movement  wall time during which some copy, peer_add or add between two devices\n"
    "            runs (not the host's scatter, not a device's copy of its own shard)\n"
    "  exposed   the step's comm: wall time during which some device runs such a\n"
    "            movement and no compute (forward, backward, loss, sgd) of its own does\n"
    "  hidden    1 - exposed / movement\n"
    "\n"
    "Refused: --epochs, --log-every, --log, --save, --save-every and --resume (nothing\n"
    "is kept), and mpirun: one process with as many devices runs the same tree, bitwise\n"
    "(run cudp explain --devices cpu:N, N the devices of every rank). --trace writes\n"
    "the steps' Chrome trace.\n"
    "\n"
    "flags (cudp train's):\n";

// The flag named by "--name", "--name=value" or a help line's "--name VALUE ...", else "".
std::string flag_name(const std::string& arg) {
  if (arg.rfind("--", 0) != 0) return "";
  return arg.substr(2, arg.find_first_of("= ") == std::string::npos ? std::string::npos
                                                                    : arg.find_first_of("= ") - 2);
}

const std::vector<std::pair<std::string, std::string>>& refused_flags() {
  static const std::vector<std::pair<std::string, std::string>> refused{
      {"epochs", "cudp explain runs --steps steps (default 3); train with cudp train"},
      {"log-every", "cudp explain prints no progress lines, only the last step taken apart"},
      {"log", "cudp explain writes no log; its tables are its output"},
      {"save", "cudp explain keeps nothing it trains; save with cudp train"},
      {"save-every", "cudp explain keeps nothing it trains; save with cudp train"},
      {"resume", "cudp explain starts from --init or the seeded init, never a checkpoint"},
  };
  return refused;
}

// cudp train's --help without the refused flags, --steps as explain reads it.
std::string explain_flags_help(const std::string& train_help) {
  std::istringstream lines(train_help);
  std::ostringstream out;
  for (std::string line; std::getline(lines, line);) {
    const std::size_t start = line.find_first_not_of(' ');
    const std::string name = start == std::string::npos ? "" : flag_name(line.substr(start));
    bool refused = false;
    for (const auto& [flag, why] : refused_flags()) refused = refused || name == flag;
    if (refused) continue;
    if (name == "steps") {
      std::string left = "  --steps VALUE";
      left.resize(26, ' ');
      line = left + " steps to run; the last one is explained (default: 3)";
    }
    out << line << "\n";
  }
  return out.str();
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

void print_setup(std::ostream& out, const TrainConfig& c, const TracedRun& run, int64_t steps) {
  auto row = [&out](const char* key, const std::string& value) {
    out << "  " << std::left << std::setw(10) << key << value << "\n";
  };
  out << "cudp explain\n";
  row("model", concat(c.model, " (", with_commas(run.parameters), " parameters: a flat buffer of ",
                      with_commas(4 * run.parameters), " bytes)"));
  std::string devices;
  for (std::size_t r = 0; r < run.devices.size(); ++r)
    devices += concat(r ? ", " : "", r, " = ", run.devices[r]);
  row("devices", concat(devices, " (--devices ", c.devices_spec, ")",
                        c.devices[0].is_cpu()
                            ? concat(", ", c.threads, " thread", c.threads == 1 ? "" : "s", " each")
                            : std::string()));
  if (run.devices.size() == 1)
    row("parallel", "none (one device)");
  else
    row("parallel", parallel_row(c));
  if (run.devices.size() > 1) {
    row("buckets", concat(run.bucket_count, ", in backward order: ", run.buckets));
    row("routes", concat("by id (the trace's bucket): ", run.routes));
  }
  std::string shards;
  for (std::size_t r = 0; r < run.shards.size(); ++r)
    shards += concat(r ? ", " : "", run.shards[r]);
  row("batch", concat(c.batch, " (the explained step's shards: ", shards, ")"));
  row("steps", concat(steps, " run; step ", steps, " explained, the last",
                      c.parallel == ParallelMode::Distributed && run.devices.size() > 1
                          ? (steps == 1 ? " (ddp's first: it also broadcasts the parameters)"
                                        : " (ddp's first step also broadcasts the parameters: "
                                          "--steps 1 explains it)")
                          : std::string()));
}

// Which phases take those levels, and where the parts leave them.
std::string order_note(const TrainConfig& c, const TracedRun& run) {
  if (run.devices.size() < 2) return "";
  const bool dp = c.parallel == ParallelMode::DataParallel;
  std::string note;
  if (c.reduce == ReduceAlgorithm::Ring)
    note = dp ? "dp: the reduce is the reduce-scatter, then the gather into 0; the replicate of "
                "every step is a\nbroadcast along the tree's levels (copies, no sums).\n"
              : "ddp: each all_reduce is the reduce-scatter, then the all-gather; the parameters' "
                "broadcast\nruns once, in step 1, along the tree's levels.\n";
  else
    note = dp ? "dp: the broadcast is the replicate of every step, the reduce the gradients'.\n"
              : "ddp: each all_reduce is the reduce, then the broadcast; the parameters' broadcast "
                "runs once, in step 1.\n";
  if (run.any_parts)
    note +=
        "A bucket in parts is cut into one slice per device, and device q's compute stream "
        "moves\nslice q: along every reduce edge above, and in a broadcast from 0 straight to "
        "every other\ndevice (not along the broadcast's levels): see the edges from 0 below.\n";
  return note;
}

}  // namespace

int explain_command(const std::vector<std::string>& args, std::ostream& out) {
  for (const std::string& arg : args)
    for (const auto& [flag, why] : refused_flags())
      if (flag_name(arg) == flag) fail("--", flag, ": ", why);
  std::string help;
  TrainConfig c = parse_train_config(args, &help, Launch{}, "cudp explain");
  if (c.help) {
    out << kExplainUsage << explain_flags_help(help);
    return 0;
  }
  if (c.devices[0].is_cpu()) {
    const std::string crowded = oversubscription_warning(
        c.devices.size(), c.threads, 1, std::max(1u, std::thread::hardware_concurrency()));
    if (!crowded.empty()) log_warn(crowded);
  }
  check_outputs({{"--trace", c.trace_path, OutputWrite::Replace, {}}});
  const int64_t steps = c.steps ? c.steps : kDefaultSteps;
  const TracedRun run = run_traced_steps(c, steps);
  const auto per_step = split_steps(run.records);
  if (static_cast<int64_t>(per_step.size()) != steps)
    fail("expected the trace of ", steps, " steps, found ", per_step.size(),
         " end-of-step syncs in it");
  print_setup(out, c, run, steps);
  out << "\nthe order of the sums\n"
      << reduce_diagram(static_cast<int>(run.devices.size()), c.reduce) << order_note(c, run)
      << "\n"
      << explanation_tables(explain_step(per_step.back(), static_cast<int>(steps)));
  if (!c.trace_path.empty())
    out << "\nwrote the trace of " << steps << " steps to " << c.trace_path << "\n";
  return 0;
}

}  // namespace cudp
