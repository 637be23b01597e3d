// `cudp trace merge --output OUT IN...`: the per-rank traces of one mpirun run
// (`cudp train --trace out.json` writes out.rank0.json, out.rank1.json, ...)
// joined into one Chrome trace, a process lane per device grouped by rank.
//
// The inputs are positional, the output a flag: `cudp trace merge out.rank*.json`
// without --output is refused, never read as "write into out.rank0.json".
// The checks and the merge are parallel/trace_merge.h's; nothing is written
// unless every input is a rank trace of the same run.
#include "apps/cli.h"
#include "apps/flags.h"
#include "parallel/trace_merge.h"
#include "runtime/error.h"

namespace cudp {
namespace {

const char* kTraceUsage =
    "usage: cudp trace merge --output OUT IN...\n"
    "\n"
    "Merges the per-rank Chrome traces of one run over several processes\n"
    "(mpirun ... cudp train --trace out.json writes out.rank0.json, out.rank1.json, ...)\n"
    "into OUT: one process lane per device, grouped by rank, every event kept, times on\n"
    "the run's common origin. Open OUT in https://ui.perfetto.dev or chrome://tracing.\n";

// Flags (and --output's value) for Flags::parse; everything else is an input.
void split(const std::vector<std::string>& args, std::vector<std::string>* flags,
           std::vector<std::string>* inputs) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind("--", 0) != 0) {
      inputs->push_back(args[i]);
      continue;
    }
    flags->push_back(args[i]);
    if (args[i] == "--output" && i + 1 < args.size()) flags->push_back(args[++i]);
  }
}

int merge_command(const std::vector<std::string>& args, std::ostream& out) {
  Flags f("cudp trace merge");
  f.add("output", "", "the merged trace to write (required; written whole or not at all)");
  f.add_bool("help", "print this help");
  std::vector<std::string> flags, inputs;
  split(args, &flags, &inputs);
  f.parse(flags);
  if (f.boolean("help")) {
    out << kTraceUsage << "\n" << f.help();
    return 0;
  }
  const std::string output = f.str("output");
  if (output.empty()) fail("--output: expected the path of the merged trace, found none");
  if (inputs.empty())
    fail(
        "cudp trace merge: expected the rank traces to merge (out.rank0.json out.rank1.json "
        "...), found none");
  const MergedTrace merged = merge_trace_files(inputs, output);
  out << "merged " << merged.ranks << " ranks (" << merged.devices << " devices, " << merged.events
      << " events) into " << output << "\n";
  return 0;
}

}  // namespace

int trace_command(const std::vector<std::string>& args, std::ostream& out) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    out << kTraceUsage;
    return 0;
  }
  if (args.empty() || args[0] != "merge")
    fail("expected a subcommand (merge), found ",
         args.empty() ? std::string("none") : "'" + args[0] + "'");
  return merge_command(std::vector<std::string>(args.begin() + 1, args.end()), out);
}

}  // namespace cudp
