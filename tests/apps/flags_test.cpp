// Flag values that fuzz_flags (fuzz/) found read wrongly: each was accepted
// and turned into another number, where it must be refused with the flag's
// name and the text found. The inputs are in fuzz/corpus/flags/ too.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "apps/flags.h"
#include "apps/train_config.h"
#include "runtime/error.h"
#include "tests/common/expect_error.h"

namespace cudp {
namespace {

using test::error_of;

std::string train_error(const std::vector<std::string>& args) {
  return error_of([&] { parse_train_config(args); });
}

TEST(FlagValues, IntegersAreDigitsWithoutSpaceOrPlus) {
  Flags f("t");
  f.add("seed", "0", "a seed");
  f.add("n", "1", "a count");
  f.parse({"--seed", " -1", "--n", "+5"});
  // strtoull skips the space and negates: this seed was 18446744073709551615.
  EXPECT_EQ(error_of([&] { f.seed("seed"); }),
            "--seed: expected a non-negative integer seed, found ' -1'");
  EXPECT_EQ(error_of([&] { f.positive_int("n"); }), "--n: expected a positive integer, found '+5'");
  Flags g("t");
  g.add("seed", "0", "a seed");
  g.add("n", "1", "a count");
  g.parse({"--seed", "18446744073709551615", "--n", "007"});
  EXPECT_EQ(g.seed("seed"), 18446744073709551615u);
  EXPECT_EQ(g.positive_int("n"), 7);
  EXPECT_EQ(error_of([&] { g.non_negative_int("n"); }), "");
}

TEST(FlagValues, ThreadsThatDoNotFitAnIntAreRefused) {
  // static_cast<int> made 4294967296 zero threads and 2147483648 negative.
  EXPECT_EQ(train_error({"--devices", "cpu", "--threads", "4294967296"}),
            "--threads: expected 1 to 1024 threads per CPU device, found '4294967296'");
  EXPECT_EQ(train_error({"--devices", "cpu", "--threads", "2147483648"}),
            "--threads: expected 1 to 1024 threads per CPU device, found '2147483648'");
  EXPECT_EQ(parse_train_config({"--devices", "cpu", "--threads", "1024"}).threads, 1024);
}

TEST(FlagValues, NumbersPastFloat32AreRefusedNamingTheFlag) {
  // --lr-gamma 1e300 became inf in float32, and nothing else checks it.
  EXPECT_NE(train_error({"--lr-milestones", "1", "--lr-gamma", "1e300"})
                .find("--lr-gamma: expected a number that fits in float32"),
            std::string::npos);
  EXPECT_NE(train_error({"--lr", "1e39"}).find("--lr: expected a number that fits in float32"),
            std::string::npos);
  EXPECT_NE(train_error({"--dampening", "-1e300"}).find("--dampening: expected a number that fits"),
            std::string::npos);
  EXPECT_FLOAT_EQ(parse_train_config({"--lr-gamma", "3e38"}).lr_gamma, 3e38f);
}

TEST(FlagValues, ChunkBytesIsCheckedBeforeTheUnitShiftsIt) {
  // 17179869185 << 30 wraps to 2^30: this was a 1G chunk.
  EXPECT_EQ(error_of([] { parse_byte_size("17179869185G"); }),
            "--chunk-bytes: expected 4 bytes to 4G, found '17179869185G'");
  EXPECT_EQ(error_of([] { parse_byte_size("999999999999K"); }),
            "--chunk-bytes: expected 4 bytes to 4G, found '999999999999K'");
  EXPECT_EQ(error_of([] { parse_byte_size("3"); }),
            "--chunk-bytes: expected 4 bytes to 4G, found '3'");
  EXPECT_EQ(parse_byte_size("4G"), std::size_t{1} << 32);
  EXPECT_EQ(parse_byte_size("4194304K"), std::size_t{1} << 32);
  EXPECT_EQ(parse_byte_size("4"), 4u);
}

// --cuda-graph on|off: off by default; on needs every device on a GPU (a CPU
// device's stream is a thread, not capturable). The one-process check (mpirun)
// is in the same branch; launch_test's environment cannot fake a GPU, so it is
// not reached here.
TEST(FlagValues, CudaGraphIsOnOrOffAndRefusesCpuDevices) {
  EXPECT_FALSE(parse_train_config({"--devices", "cpu:2"}).cuda_graph);
  EXPECT_FALSE(parse_train_config({"--devices", "cpu:2", "--cuda-graph", "off"}).cuda_graph);
  test::expect_parts(train_error({"--devices", "cpu:2", "--cuda-graph", "yes"}),
                     {"--cuda-graph: expected on or off, found 'yes'"});
  test::expect_parts(train_error({"--devices", "cpu:2", "--cuda-graph", "on"}),
                     {"--cuda-graph on: expected every device of --devices on a GPU, found cpu:0",
                      "in 'cpu:2'"});
}

}  // namespace
}  // namespace cudp
