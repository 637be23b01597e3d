// `cudp devices`: what --devices can name on this machine.
#include <thread>

#include "apps/cli.h"
#include "apps/flags.h"
#include "runtime/cuda_info.h"

namespace cudp {

int devices_command(const std::vector<std::string>& args, std::ostream& out) {
  Flags flags("cudp devices");
  flags.add_bool("help", "print this help");
  flags.parse(args);
  if (flags.boolean("help")) {
    out << "usage: cudp devices\n\nLists the CPU and CUDA devices of this machine.\n";
    return 0;
  }
  out << "cpu      " << std::thread::hardware_concurrency()
      << " hardware threads (--devices cpu, cpu:N for N logical devices)\n";
  const int gpus = cuda_device_count();
  if (gpus == 0) {
    out << "cuda     none: " << cuda_unavailable_reason() << "\n";
  } else {
    out << "cuda     " << gpus << " GPU" << (gpus == 1 ? "" : "s") << " (--devices cuda:0"
        << (gpus > 1 ? ",1,..." : "") << ")\n";
  }
  return 0;
}

}  // namespace cudp
