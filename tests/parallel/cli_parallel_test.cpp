// The data-parallel side of `cudp` driven in-process (apps/cli.h): bad device
// specs and flags exit non-zero with one clear line; short dp and ddp runs
// print the step line with its communication time and write a trace.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "apps/cli.h"
#include "io/json.h"
#include "runtime/device_spec.h"
#include "runtime/error.h"
#include "tests/common/cli_run.h"

namespace cudp {
namespace {

using test::cli;
using test::CliRun;

const std::vector<std::string> kSmall = {"--input",     "3x8x8", "--train-size", "24",
                                         "--test-size", "10",    "--batch",      "7"};

std::vector<std::string> train(std::vector<std::string> extra) {
  std::vector<std::string> args = {"train"};
  args.insert(args.end(), kSmall.begin(), kSmall.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(CliParallel, BadSpecsAndFlagsExitNonZeroWithAReason) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--devices", "tpu:2"}, "--devices tpu:2: unknown device spec"},
      {{"--devices", "cuda"}, "no CUDA GPU is available"},
      {{"--devices", "cuda:0,5"}, "no CUDA GPU is available"},
      {{"--devices", "cpu:0"}, "cpu:N needs a device count N from 1 to 1024"},
      {{"--devices", "cpu:2", "--output-device", "cpu:3"},
       "--output-device cpu:3: cpu:3 is not one of the training devices cpu:0,cpu:1"},
      {{"--devices", "cpu:2", "--output-device", "cuda:0"}, "is not one of the training devices"},
      {{"--devices", "cpu:2", "--output-device", "gpu"}, "--output-device: expected a device"},
      {{"--parallel", "fsdp"}, "--parallel: expected dp or ddp, found 'fsdp'"},
      {{"--reduce", "mesh"}, "--reduce: expected tree, star or ring, found 'mesh'"},
      {{"--chunk-bytes", "0"}, "--chunk-bytes: expected 4 bytes to 4G"},
      {{"--chunk-bytes", "1T"}, "--chunk-bytes: expected a byte count"},
      {{"--edge", "nvlink"}, "--edge: expected direct or copy, found 'nvlink'"},
      {{"--check-replicas"}, "--check-replicas: needs --parallel ddp"},
      {{"--parallel", "ddp", "--output-device", "1"}, "only --parallel dp gathers"},
      {{"--bucket-cap-mb", "10"}, "--bucket-cap-mb: needs --textbook --parallel ddp"},
      {{"--parallel", "ddp", "--textbook", "--bucket-cap-mb", "0"},
       "--bucket-cap-mb: expected a size above 0"},
      {{"--parallel", "ddp", "--textbook", "--bucket-cap-mb", "x"},
       "--bucket-cap-mb: expected a number, found 'x'"},
      {{"--textbook", "--edge", "direct"}, "--edge direct: --textbook dp reduces"},
  };
  for (const auto& [extra, expected] : cases) {
    const CliRun r = cli(train(extra));
    EXPECT_NE(r.status, 0) << extra[0];
    EXPECT_NE(r.err.find(expected), std::string::npos) << "stderr: " << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  }
  // An index past the last GPU, on a machine that has two.
  try {
    parse_device_spec("cuda:0,2", 2);
    FAIL() << "cuda:0,2 accepted with 2 GPUs";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("GPU 2 does not exist; this machine has 2 GPUs"),
              std::string::npos)
        << e.what();
  }
}

TEST(CliParallel, HelpListsTheDataParallelFlags) {
  const CliRun r = cli({"train", "--help"});
  ASSERT_EQ(r.status, 0);
  for (const char* part : {"--devices", "(default: auto)", "--parallel", "(default: dp)",
                           "--reduce", "(default: tree)", "--chunk-bytes", "(default: 1M)", "--edge", "(default: direct)",
                           "--output-device", "--trace", "--check-replicas", "--textbook", "--bucket-cap-mb"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part;
}

TEST(CliParallel, DpAndDdpRunsPrintCommunicationAndWriteATrace) {
  const std::string path = ::testing::TempDir() + "cudp_cli_trace.json";
  for (const char* mode : {"dp", "ddp"}) {
    std::vector<std::string> extra = {"--devices", "cpu:3", "--parallel",    mode,
                                      "--steps",   "3",     "--log-every",   "1",
                                      "--trace",   path,    "--chunk-bytes", "64K"};
    if (std::string(mode) == "ddp") extra.push_back("--check-replicas");
    const CliRun r = cli(train(extra));
    ASSERT_EQ(r.status, 0) << r.err;
    const std::vector<std::string> parts = {
        "devices     cpu:0,cpu:1,cpu:2 (--devices cpu:3)",
        std::string("parallel    ") + mode + ", reduce tree, chunks of 65536 bytes",
        "step 3/3  loss ",
        " samples/s  comm ",
        "held-out accuracy",
        "wrote the trace of 3 steps to " + path};
    for (const std::string& part : parts)
      EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NO_THROW(json::parse(text.str(), path));
    EXPECT_NE(text.str().find("\"rank 2 (cpu:2)\""), std::string::npos);
  }
  std::remove(path.c_str());
}

// The step line's comm (parallel/comm_clock.h): exposed movement, never more
// than all movement, beside it and in the log with the hidden share.
TEST(CliParallel, CommIsExposedMovementBesideMovedAndTheHiddenShare) {
  const std::string log = ::testing::TempDir() + "cudp_cli_comm.jsonl";
  std::remove(log.c_str());
  for (const char* mode : {"dp", "ddp"}) {
    const CliRun r = cli(train({"--devices", "cpu:2", "--parallel", mode, "--steps", "3",
                                "--log-every", "1", "--log", log}));
    ASSERT_EQ(r.status, 0) << r.err;
    int lines = 0;
    std::istringstream out(r.out);
    for (std::string line; std::getline(out, line);) {
      const std::size_t at = line.find("  comm ");
      if (line.rfind("step ", 0) != 0 || at == std::string::npos) continue;
      double comm = -1, moved = -1, hidden = -1;
      ASSERT_EQ(std::sscanf(line.c_str() + at, "  comm %lf ms/step (moved %lf, %lf%% hidden)",
                            &comm, &moved, &hidden),
                3)
          << line;
      EXPECT_LE(comm, moved + 0.01) << line;  // two decimals: this small net moves in microseconds
      EXPECT_GE(comm, 0) << line;
      EXPECT_GE(hidden, 0) << line;
      EXPECT_LE(hidden, 100) << line;
      ++lines;
    }
    EXPECT_EQ(lines, 3) << r.out;
  }
  std::ifstream in(log);
  int steps = 0;
  for (std::string line; std::getline(in, line);) {
    const json::Value entry = json::parse(line, log);
    const auto field = [&](const char* key) {
      for (const auto& [k, v] : entry.members)
        if (k == key) return std::stod(v.text);
      ADD_FAILURE() << key << " missing in " << line;
      return -1.0;
    };
    if (line.find("\"event\":\"step\"") == std::string::npos) continue;
    ++steps;
    const double comm = field("comm_ms_per_step"), moved = field("moved_ms_per_step");
    const double hidden = field("comm_hidden");
    EXPECT_GT(moved, 0) << "the batch and the gradients move: " << line;
    EXPECT_LE(comm, moved + 1e-9) << line;
    EXPECT_NEAR(hidden, moved > 0 ? (moved - comm) / moved : 1.0, 1e-6) << line;
  }
  EXPECT_EQ(steps, 6);
  std::remove(log.c_str());
}

TEST(CliParallel, DefaultDevicesAreAutoAndOneDeviceStillWorks) {
  const CliRun a = cli(train({"--steps", "2", "--log-every", "1"}));
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_NE(a.out.find("(--devices auto)"), std::string::npos) << a.out;
  const CliRun one = cli(train({"--steps", "2", "--devices", "cpu"}));
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_NE(one.out.find("parallel    none (one device)"), std::string::npos) << one.out;
}

TEST(CliParallel, DevicesListsAutoAndThePeerMatrix) {
  const CliRun r = cli({"devices"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("auto     "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peer     "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cudp
