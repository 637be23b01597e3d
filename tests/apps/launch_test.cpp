// What `cudp train` checks across ranks, driven by a stand-in for the other
// rank: the settings comparison names the first differing flag on every rank,
// and per-rank file names. The real ranks are tests/mpi/mpi_test.py's.
#include <gtest/gtest.h>

#include "apps/launch.h"
#include "apps/train_config.h"
#include "runtime/device_spec.h"

namespace cudp {
namespace {

// Rank 0 of two; the other rank's all_gather contribution is given.
class TwoRanks final : public ProcessGroup {
 public:
  explicit TwoRanks(std::string theirs) : theirs_(std::move(theirs)) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string host() const override { return "here"; }
  std::vector<std::string> all_gather(const std::string& mine) override { return {mine, theirs_}; }
  void exchange(const std::vector<Transfer>&) override {}
  void all_reduce_sum(float*, std::size_t) override {}
  [[noreturn]] void abort(int) override { throw Error("abort"); }

 private:
  std::string theirs_;
};

std::string settings_of(const std::vector<std::string>& args) {
  std::string text;
  for (const auto& [flag, value] : parse_train_config(args).shared_settings)
    text += flag + '\n' + value + '\n';
  return text;
}

TEST(Launch, TheFirstDifferingSettingIsNamedWithBothValues) {
  const std::vector<std::string> mine = {"--lr", "0.01", "--batch", "8"};
  TwoRanks same(settings_of(mine));
  EXPECT_NO_THROW(check_same_settings(same, parse_train_config(mine)));
  TwoRanks other(settings_of({"--lr", "0.02", "--batch", "16"}));
  try {
    check_same_settings(other, parse_train_config(mine));
    ADD_FAILURE() << "different settings were accepted";
  } catch (const EveryRankError& e) {
    // --batch comes before --lr in --help's order.
    EXPECT_STREQ(e.what(),
                 "--batch differs between ranks: rank 0 has '8', rank 1 has '16'; start every "
                 "rank with the same settings");
  }
}

TEST(Launch, OutputPathsThreadsAndDevicesAreNotCompared) {
  TwoRanks other(settings_of({"--save", "/tmp/b.safetensors", "--threads", "2", "--log-every", "5",
                              "--devices", "cpu:3", "--trace", "t.json", "--log", "l.jsonl"}));
  EXPECT_NO_THROW(check_same_settings(other, parse_train_config({"--devices", "cpu:1"})));
}

TEST(Launch, UnderALauncherDdpIsTheDefaultAndAutoIsOneCpuDevice) {
  Launch launch;
  launch.size = 2;
  launch.on_host = 2;
  const TrainConfig c = parse_train_config({}, nullptr, launch);
  EXPECT_EQ(c.parallel, ParallelMode::Distributed);
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_TRUE(c.devices[0].is_cpu());
  EXPECT_EQ(parse_train_config({}).parallel, ParallelMode::DataParallel);
}

// --devices auto under a launcher, on machines this one plays (Launch::gpus):
// the local rank's block of GPUs, a shared GPU when ranks outnumber them, one
// CPU device without any.
TEST(Launch, AutoPicksTheLocalRanksGpusElseOneCpuDevice) {
  auto devices_of = [](int gpus, int local_rank, int on_host) {
    Launch launch;
    launch.size = on_host;
    launch.on_host = on_host;
    launch.local_rank = local_rank;
    launch.gpus = gpus;
    return device_list_str(parse_train_config({}, nullptr, launch).devices);
  };
  EXPECT_EQ(devices_of(0, 1, 2), "cpu:0");
  EXPECT_EQ(devices_of(2, 0, 2), "cuda:0");
  EXPECT_EQ(devices_of(2, 1, 2), "cuda:1");
  EXPECT_EQ(devices_of(8, 1, 2), "cuda:4,cuda:5,cuda:6,cuda:7");
  EXPECT_EQ(devices_of(3, 0, 2), "cuda:0,cuda:1");
  EXPECT_EQ(devices_of(3, 1, 2), "cuda:2");
  EXPECT_EQ(devices_of(1, 0, 2), "cuda:0");  // two ranks share GPU 0
  EXPECT_EQ(devices_of(1, 1, 2), "cuda:0");
  EXPECT_EQ(devices_of(2, 2, 3), "cuda:0");  // round robin: 0, 1, 0
  EXPECT_EQ(local_auto_devices(4, 3, 4).size(), 1u);
}

TEST(Launch, EachRankWritesItsOwnTrace) {
  EXPECT_EQ(rank_path("out.json", 1), "out.rank1.json");
  EXPECT_EQ(rank_path("/a.b/trace", 0), "/a.b/trace.rank0");
  EXPECT_EQ(rank_path("dir/t.v2.json", 3), "dir/t.v2.rank3.json");
}

}  // namespace
}  // namespace cudp
