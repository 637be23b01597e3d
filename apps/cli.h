// The `cudp` command line, callable in-process (tests drive it this way).
//
//   cudp train [flags]     train a model (see `cudp train --help`)
//   cudp eval --init PATH  a weights file's test accuracy and confusion matrix
//   cudp devices           list the devices this machine offers
// run_cli returns the exit status: 0 on success, 1 with a one-line reason on
// `err` for any error (bad flag, bad value, bad file, diverged training).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace cudp {

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

int train_command(const std::vector<std::string>& args, std::ostream& out);
int eval_command(const std::vector<std::string>& args, std::ostream& out);
int devices_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace cudp
