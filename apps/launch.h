// `cudp train` under mpirun: what each process learns from the others before
// the first step, and how it names its files.
//
//   launch_of            rank, size and the processes on this host
//   check_same_settings  every rank's shared settings (train_config.h) against
//                        rank 0's: the first flag that differs is named on every
//                        rank, with both values (a digest could not name it)
//   describe_processes   the config table's row: ranks, hosts, local devices,
//                        and which global devices each rank holds
//   rank_path            out.json -> out.rank1.json: one trace per rank
//   barrier              every rank got here (rank 0 wrote a checkpoint)
// All but rank_path are collective: every rank calls them in the same order.
#pragma once

#include <string>

#include "apps/train_config.h"
#include "parallel/device_group.h"
#include "parallel/process_group.h"
#include "runtime/error.h"

namespace cudp {

// An error every rank finds at once: each reports it and ends normally, so that
// no rank's message is cut short by another's MPI_Abort.
class EveryRankError : public Error {
 public:
  using Error::Error;
};

Launch launch_of(const ProcessGroup& processes);
void check_same_settings(ProcessGroup& processes, const TrainConfig& c);
std::string describe_processes(ProcessGroup& processes, const DeviceGroup& group);
std::string rank_path(const std::string& path, int rank);
void barrier(ProcessGroup& processes);

}  // namespace cudp
