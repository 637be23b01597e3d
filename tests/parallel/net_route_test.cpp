// The Net route on CPU devices, processes played by threads: bitwise one
// process (tests/parallel/net_compare.h). The CPU twin of
// tests/parallel_cuda/net_staged_test.cpp, which runs the same check through
// the GPU's pinned staging.
#include "tests/parallel/net_compare.h"

namespace cudp {
namespace {

TEST(NetRoute, ThreadsAsProcessesGiveOneProcessesBits) {
  test::expect_net_bits_of_one_process([](int l) { return cpu_device(l); }, {std::size_t{1} << 20});
}

}  // namespace
}  // namespace cudp
