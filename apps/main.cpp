// The `cudp` binary: everything is in apps/cli.cpp so tests can run it in-process.
// Started by an MPI launcher, it joins the launcher's processes first
// (parallel/process_group.h); only rank 0 prints the run's output.
#include <fstream>
#include <iostream>

#include "apps/cli.h"
#include "parallel/process_group.h"
#include "runtime/error.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::unique_ptr<cudp::ProcessGroup> processes;
  try {
    processes = cudp::open_processes();
  } catch (const cudp::Error& e) {
    std::cerr << "cudp: error: " << e.what() << "\n";
    return 1;
  }
  std::ofstream quiet;  // ranks other than 0: a stream that writes nothing
  std::ostream& out = processes->rank() == 0 ? std::cout : quiet;
  return cudp::run_cli(args, out, std::cerr, *processes);
}
