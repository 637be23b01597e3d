// ProcessGroup: the processes of a run (ranks), as torch.distributed's process
// group is: one process alone, or every process an MPI launcher started.
//
//   rank, size     this process's rank among size processes (0 of 1 alone)
//   host           the machine this process runs on (for the config table)
//   all_gather     every process's string, in rank order (collective: every
//                  process calls it, on its main thread, in the same order)
//   exchange       the point-to-point transfers of one level of a reduction
//                  tree: posted together, waited for together (on the
//                  communicator's net stream only)
//   abort          ends every process of the run (MPI_Abort): what an error on
//                  one rank must do, so that no other rank waits forever
// Every wait backs off (sleeps, never spins: three ranks on two cores must
// leave the cores to the compute) and gives up after `timeout_s` seconds with
// an error naming the peer, so a rank that died cannot hang the others.
//
// open_processes() decides: started by a launcher (mpirun sets
// OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK) with more than one process, it
// initializes MPI (MPI_THREAD_MULTIPLE, requested and checked); otherwise it
// returns the one-process group and MPI is never loaded. A build without MPI
// started by a launcher says how to build with it.
// The decision a reader would get wrong: the devices of all processes form ONE
// list in global order, rank-major (rank 0's devices first); DeviceLayout maps
// it. Bits depend only on that list, never on which process holds a device.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace cudp {

struct Transfer {
  int peer = 0;         // the other process's rank
  int tag = 0;          // the same on both sides
  void* data = nullptr;  // a send reads it, a receive writes it
  std::size_t bytes = 0;
  bool send = false;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string host() const = 0;
  virtual std::vector<std::string> all_gather(const std::string& mine) = 0;
  virtual void exchange(const std::vector<Transfer>& transfers) = 0;
  // The same element-wise sum of n floats on every process, by the MPI library's own
  // algorithm (ring, recursive doubling, ...): fast, not bitwise reproducible.
  virtual void all_reduce_sum(float* data, std::size_t n) = 0;
  // The MPI library says it takes CUDA device pointers (MPIX_Query_cuda_support).
  // cudp stages GPU buckets through pinned host memory even then (communicator_net.cpp).
  virtual bool cuda_aware() const { return false; }
  [[noreturn]] virtual void abort(int code) = 0;
  double timeout_s() const { return timeout_s_; }
  void set_timeout_s(double seconds) { timeout_s_ = seconds; }

 private:
  double timeout_s_ = 300;
};

// The single process: rank 0 of 1. It has no peers: exchange() with a transfer fails.
class SingleProcess final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string host() const override;
  std::vector<std::string> all_gather(const std::string& mine) override { return {mine}; }
  void exchange(const std::vector<Transfer>& transfers) override;
  void all_reduce_sum(float*, std::size_t) override {}
  [[noreturn]] void abort(int code) override;
};

// How many processes a launcher says it started (1 when none did).
int launched_processes();
// Processes on this host, as the launcher says (1 when it does not say).
int launched_processes_on_host();
// This process among those on its host (0 when the launcher does not say).
int launched_local_rank();
// SingleProcess, or MPI's processes when a launcher started several.
std::unique_ptr<ProcessGroup> open_processes();
bool built_with_mpi();

// The devices of every process in one global order.
class DeviceLayout {
 public:
  DeviceLayout() : counts_{1}, first_{0} {}
  // counts[p]: process p's local device count; `rank`: this process.
  DeviceLayout(std::vector<int> counts, int rank);

  int processes() const { return static_cast<int>(counts_.size()); }
  int rank() const { return rank_; }
  int total() const { return total_; }             // devices of all processes
  int first() const { return first_[rank_]; }      // this process's first global index
  int local() const { return counts_[rank_]; }     // this process's device count
  int count(int process) const { return counts_.at(static_cast<std::size_t>(process)); }
  int first_of(int process) const { return first_.at(static_cast<std::size_t>(process)); }
  int owner(int global) const;                     // the process holding global device `global`
  bool mine(int global) const { return owner(global) == rank_; }
  int local_index(int global) const { return global - first(); }

 private:
  std::vector<int> counts_, first_;
  int rank_ = 0, total_ = 1;
};

// Every process's local device count, gathered (collective).
DeviceLayout gather_layout(ProcessGroup& processes, int local_devices);

}  // namespace cudp
