// The Net route on a GPU, processes played by threads that share GPU 0: each
// bucket is staged through pinned host memory in chunks (communicator_net.cpp,
// staged_chunks.h) and must keep one process's bits (tests/parallel/net_compare.h),
// chunks of 1, 100 and 2^18 floats. Skipped without a GPU.
#include "runtime/cuda_info.h"
#include "tests/parallel/net_compare.h"

namespace cudp {
namespace {

TEST(NetStaged, ThreadsSharingGpu0GiveOneProcessesBits) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA GPU: " << cuda_unavailable_reason();
  test::expect_net_bits_of_one_process([](int) { return cuda_device(0); },
                                       {std::size_t{4}, std::size_t{400}, std::size_t{1} << 20});
}

}  // namespace
}  // namespace cudp
