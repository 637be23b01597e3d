// The chunked staging loop of the Net route on GPUs (communicator_net.cpp):
// a bucket of `count` elements moves through kStagingSlots host slots in
// chunks of `chunk` elements, three stages in flight at once:
//   download chunk i+1 (device -> slot)   while
//   work on chunk i (the host algorithm, MPI and adds, on its slot)   while
//   upload chunk i-1 (slot -> device).
// Each chunk uses slot i % kStagingSlots; before a slot is downloaded into
// again, the upload of the chunk that last used it is waited for. The steps
// are callbacks so that the same loop runs with cudaMemcpyAsync on two CUDA
// streams (the net's) and, in tests, with plain memcpy on the host.
// The decision a reader would get wrong: the loop owns only the ORDER; the
// begin_* callbacks may return before their copy is done, and only the
// wait_* callbacks promise it is. Every element is downloaded, worked on and
// uploaded exactly once, chunks in index order.
#pragma once

#include <cstdint>
#include <functional>

#include "runtime/thread_pool.h"  // Range

namespace cudp {

constexpr int kStagingSlots = 3;

struct StagedSteps {
  std::function<void(int slot, Range chunk)> begin_download;
  std::function<void(int slot)> wait_download;
  std::function<void(int slot, Range chunk)> work;
  std::function<void(int slot, Range chunk)> begin_upload;
  std::function<void(int slot)> wait_upload;
};

// chunk <= 0 means one chunk of everything.
void run_staged(int64_t count, int64_t chunk, const StagedSteps& steps);

}  // namespace cudp
