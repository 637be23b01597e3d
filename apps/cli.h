// The `cudp` command line, callable in-process (tests drive it this way).
//
//   cudp train [flags]     train a model (see `cudp train --help`)
//   cudp explain [flags]   a few traced steps of train's flags, the last taken apart
//   cudp eval --init PATH  a weights file's test accuracy and confusion matrix
//   cudp devices           list the devices this machine offers
//   cudp trace merge       the per-rank traces of an mpirun run as one file
// run_cli returns the exit status: 0 on success, 1 with a one-line reason on
// `err` for any error (bad flag, bad value, bad file, diverged training).
// Under mpirun (main.cpp passes MPI's processes) only rank 0 writes `out`;
// every rank's errors go to `err` prefixed "rank N: ", and an error on one rank
// ends every rank (ProcessGroup::abort), except one that every rank found.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace cudp {

class ProcessGroup;

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            ProcessGroup& processes);

int train_command(const std::vector<std::string>& args, std::ostream& out, ProcessGroup& processes);
int explain_command(const std::vector<std::string>& args, std::ostream& out);
int eval_command(const std::vector<std::string>& args, std::ostream& out);
int devices_command(const std::vector<std::string>& args, std::ostream& out);
int trace_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace cudp
