// The one-process group, the launcher's environment, and the device layout
// (see process_group.h). MPI's group is parallel/mpi_process_group.cpp, built
// only with MPI; without it, open_processes() refuses a launcher's start.
#include "parallel/process_group.h"

#include <unistd.h>

#include <cstdlib>

#include "runtime/error.h"

namespace cudp {

std::string SingleProcess::host() const {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

void SingleProcess::exchange(const std::vector<Transfer>& transfers) {
  if (!transfers.empty())
    fail("exchange: one process has no peers, found a transfer with rank ", transfers[0].peer);
}

void SingleProcess::abort(int code) { std::_Exit(code); }

namespace {
int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return end && *end == '\0' && n > 0 && n < (1 << 24) ? static_cast<int>(n) : 0;
}
}  // namespace

int launched_processes() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"})
    if (const int n = env_int(name)) return n;
  return 1;
}

int launched_processes_on_host() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE"})
    if (const int n = env_int(name)) return n;
  return launched_processes();
}

int launched_local_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK"})
    if (const int n = env_int(name)) return n;
  return 0;
}

#ifndef CUDP_HAVE_MPI
bool built_with_mpi() { return false; }

std::unique_ptr<ProcessGroup> open_processes() {
  if (launched_processes() > 1)
    fail("started by an MPI launcher with ", launched_processes(),
         " processes, but this cudp was built without MPI: install Open MPI "
         "(apt-get install openmpi-bin libopenmpi-dev, or tools/setup.sh) and "
         "configure again with -DCUDP_MPI=ON");
  return std::make_unique<SingleProcess>();
}
#endif

DeviceLayout::DeviceLayout(std::vector<int> counts, int rank)
    : counts_(std::move(counts)), rank_(rank), total_(0) {
  if (counts_.empty() || rank < 0 || rank >= processes())
    fail("a device layout needs rank 0..", processes() - 1, ", found ", rank);
  for (int p = 0; p < processes(); ++p) {
    if (counts_[p] < 1) fail("process ", p, " has no device (", counts_[p], ")");
    first_.push_back(total_);
    total_ += counts_[p];
  }
}

int DeviceLayout::owner(int global) const {
  if (global < 0 || global >= total_)
    fail("global device ", global, " is not one of the ", total_, " devices of the run");
  int p = 0;
  while (p + 1 < processes() && first_[p + 1] <= global) ++p;
  return p;
}

DeviceLayout gather_layout(ProcessGroup& processes, int local_devices) {
  std::vector<int> counts;
  for (const std::string& s : processes.all_gather(std::to_string(local_devices)))
    counts.push_back(std::atoi(s.c_str()));
  return DeviceLayout(std::move(counts), processes.rank());
}

}  // namespace cudp
