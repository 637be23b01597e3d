// The pieces of a multi-process run that need no MPI: the launcher's
// environment, the global device layout, each process's shards, and the
// refusal of a launcher's start by a build without MPI. The runs themselves
// (mpirun against one process, bit for bit) are tests/mpi/mpi_test.py.
#include <cstdlib>

#include <gtest/gtest.h>

#include "parallel/process_group.h"
#include "parallel/replica_set.h"
#include "runtime/error.h"

namespace cudp {
namespace {

struct Env {  // sets a variable for one test, and restores it
  std::string name;
  std::string old;
  bool had;
  Env(const char* n, const char* value) : name(n), had(std::getenv(n) != nullptr) {
    if (had) old = std::getenv(n);
    ::setenv(n, value, 1);
  }
  ~Env() {
    if (had)
      ::setenv(name.c_str(), old.c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

TEST(Layout, GlobalDevicesAreRankMajor) {
  const DeviceLayout layout({2, 3, 1}, 1);
  EXPECT_EQ(layout.processes(), 3);
  EXPECT_EQ(layout.total(), 6);
  EXPECT_EQ(layout.first(), 2);
  EXPECT_EQ(layout.local(), 3);
  std::string owners;
  for (int g = 0; g < 6; ++g) owners += std::to_string(layout.owner(g));
  EXPECT_EQ(owners, "001112");
  EXPECT_TRUE(layout.mine(4));
  EXPECT_FALSE(layout.mine(5));
  EXPECT_EQ(layout.local_index(4), 2);
  EXPECT_THROW(layout.owner(6), Error);
  EXPECT_THROW(DeviceLayout({2, 0}, 0), Error);
  EXPECT_THROW(DeviceLayout({2, 2}, 2), Error);
  const DeviceLayout alone;
  EXPECT_EQ(alone.total(), 1);
  EXPECT_EQ(alone.first(), 0);
}

TEST(Layout, EachProcessTakesItsDevicesShardsOfTheGlobalBatch) {
  // 29 over 6 devices is torch.chunk's 5,5,5,5,5,4; two processes of 3 devices.
  auto text = [](const std::vector<Shard>& shards) {
    std::string s;
    for (const Shard& sh : shards) s += concat(sh.offset, "+", sh.size, " ");
    return s;
  };
  EXPECT_EQ(text(local_shards(29, 6, 0, 3)), "0+5 5+5 10+5 ");
  EXPECT_EQ(text(local_shards(29, 6, 3, 3)), "15+5 20+5 25+4 ");
  // 2 samples over 3 processes of one device: the last is idle, as in one process.
  EXPECT_EQ(text(local_shards(2, 3, 1, 1)), "1+1 ");
  EXPECT_EQ(text(local_shards(2, 3, 2, 1)), "");
}

TEST(Launcher, TheEnvironmentSaysHowManyProcesses) {
  Env size("OMPI_COMM_WORLD_SIZE", "3");
  Env local("OMPI_COMM_WORLD_LOCAL_SIZE", "2");
  EXPECT_EQ(launched_processes(), 3);
  EXPECT_EQ(launched_processes_on_host(), 2);
  Env junk("OMPI_COMM_WORLD_SIZE", "three");
  Env pmi("PMI_SIZE", "4");
  EXPECT_EQ(launched_processes(), 4);  // an unreadable value is not a launcher's
}

TEST(Launcher, WithoutMpiALauncherStartIsRefusedSayingHowToBuild) {
  Env size("OMPI_COMM_WORLD_SIZE", "2");
  if (built_with_mpi()) {
    // MPI_Init without a real launcher would hang or abort: only the one-process case here.
    Env one("OMPI_COMM_WORLD_SIZE", "1");
    EXPECT_EQ(open_processes()->size(), 1);
    return;
  }
  try {
    open_processes();
    ADD_FAILURE() << "a launcher's start was accepted by a build without MPI";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("-DCUDP_MPI=ON"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("libopenmpi-dev"), std::string::npos) << e.what();
  }
}

TEST(Launcher, OneProcessHasNoPeers) {
  SingleProcess alone;
  EXPECT_EQ(alone.all_gather("x"), std::vector<std::string>{"x"});
  char byte = 0;
  EXPECT_THROW(alone.exchange({{1, 0, &byte, 1, true}}), Error);
  EXPECT_NO_THROW(alone.exchange({}));
}

}  // namespace
}  // namespace cudp
