// `cudp devices`: what --devices can name on this machine, what `auto` picks,
// and which GPUs can read each other's memory (the peer-access matrix that
// decides how parallel/peer.cpp moves bytes between them).
#include <thread>

#include "apps/cli.h"
#include "apps/flags.h"
#include "runtime/copy.h"
#include "runtime/cuda_info.h"
#include "runtime/device_spec.h"

namespace cudp {

int devices_command(const std::vector<std::string>& args, std::ostream& out) {
  Flags flags("cudp devices");
  flags.add_bool("help", "print this help");
  flags.parse(args);
  if (flags.boolean("help")) {
    out << "usage: cudp devices\n\nLists the CPU and CUDA devices of this machine, what "
           "--devices auto picks, and the GPU peer-access matrix.\n";
    return 0;
  }
  out << "cpu      " << std::thread::hardware_concurrency()
      << " hardware threads (--devices cpu, cpu:N for N logical devices; --threads per device)\n";
  const int gpus = cuda_device_count();
  if (gpus == 0) {
    out << "cuda     none: " << cuda_unavailable_reason() << "\n";
  } else {
    out << "cuda     " << gpus << " GPU" << (gpus == 1 ? "" : "s") << " (--devices cuda:0"
        << (gpus > 1 ? ",1,..." : "") << "; cuda:0,0 is two logical devices on GPU 0)\n";
  }
  out << "auto     " << device_list_str(parse_device_spec("auto")) << "\n";
  if (gpus == 0) {
    out << "peer     no GPU, no peer-access matrix; CPU devices copy with memcpy\n";
    return 0;
  }
  const auto matrix = peer_access_matrix();
  out << "peer     access matrix (row reads column; P2P: cudaMemcpyPeerAsync, "
         "-: staged through pinned host memory, =: same GPU)\n";
  out << "         ";
  for (int j = 0; j < gpus; ++j) out << "  cuda:" << j;
  out << "\n";
  for (int i = 0; i < gpus; ++i) {
    out << "         cuda:" << i;
    for (int j = 0; j < gpus; ++j)
      out << "  " << (i == j ? "     =" : matrix[i][j] ? "   P2P" : "     -");
    out << "\n";
  }
  return 0;
}

}  // namespace cudp
