// Subcommand dispatch and the one place errors become exit statuses.
#include "apps/cli.h"

#include "apps/flag_errors.h"
#include "apps/launch.h"
#include "parallel/process_group.h"
#include "runtime/error.h"
#include "runtime/log.h"

namespace cudp {
namespace {

const char* kUsage =
    "usage: cudp <command> [flags]\n"
    "\n"
    "commands:\n"
    "  train     train a model on one device or several (cudp train --help)\n"
    "  explain   a few traced steps of a training, the last one taken apart: bytes,\n"
    "            copies and time per phase and edge, the tree (cudp explain --help)\n"
    "  eval      a weights file's test accuracy and confusion matrix (cudp eval --help)\n"
    "  devices   list the CPU and CUDA devices of this machine\n"
    "  trace     merge the per-rank traces of an mpirun run into one (cudp trace --help)\n";

}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  SingleProcess alone;
  return run_cli(args, out, err, alone);
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            ProcessGroup& processes) {
  const bool several = processes.size() > 1;
  const std::string rank = several ? concat("rank ", processes.rank(), ": ") : "";
  set_log_sink([&err, rank](LogLevel level, const std::string& line) {
    err << concat(rank, level == LogLevel::Warn ? "warning: " : "", line, "\n");
  });
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 1 : 0;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  bool every_rank = false;
  try {
    if (command == "train") return train_command(rest, out, processes);
    if (several && command == "explain")  // every rank finds it: no rank aborts another
      throw EveryRankError(
          "refused under mpirun, since rank 0 would need every rank's trace; one process "
          "with as many devices runs the same tree over the same global devices, bitwise: "
          "run cudp explain --devices cpu:N alone, N the devices of every rank");
    if (several) fail("only `cudp train` runs under mpirun; run `cudp ", command, "` alone");
    if (command == "explain") return explain_command(rest, out);
    if (command == "eval") return eval_command(rest, out);
    if (command == "devices") return devices_command(rest, out);
    if (command == "trace") return trace_command(rest, out);
    err << "cudp: unknown command '" << command << "' (commands: train, explain, eval, devices, trace)\n";
    return 1;
  } catch (const ParameterError& e) {  // the library's parameter, named by its flag
    err << concat(rank, "cudp ", command, ": error: ", flag_error_message(e), "\n");
  } catch (const EveryRankError& e) {
    err << concat(rank, "cudp ", command, ": error: ", e.what(), "\n");
    every_rank = true;
  } catch (const Error& e) {
    err << concat(rank, "cudp ", command, ": error: ", e.what(), "\n");
  } catch (const std::bad_alloc&) {
    err << concat(rank, "cudp ", command, ": error: out of memory\n");
  } catch (const std::exception& e) {
    err << concat(rank, "cudp ", command, ": internal error: ", e.what(), "\n");
  }
  if (several && !every_rank) {  // the other ranks may wait for this one: end them all
    err.flush();
    processes.abort(1);
  }
  return 1;
}

}  // namespace cudp
