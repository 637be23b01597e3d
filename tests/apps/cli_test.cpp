// `cudp` driven in-process: help, bad input, short runs, weights round trip.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "apps/cli.h"
#include "apps/flags.h"
#include "apps/train_config.h"
#include "io/safetensors.h"
#include "tests/common/cli_run.h"

namespace cudp {
namespace {

using test::cli;
using test::CliRun;

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

TEST(Cli, HelpListsEveryFlagWithItsDefault) {
  const CliRun r = cli({"train", "--help"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* flag : {"--model",        "--input",
                           "--batch",        "--steps",
                           "--epochs",       "--lr",
                           "--momentum",     "--dampening",
                           "--weight-decay", "--nesterov",
                           "--seed",         "--data",
                           "--devices",      "--log-every",
                           "--save",         "--init",
                           "--mean",         "--std",
                           "--no-shuffle",   "--drop-last",
                           "--log",          "--save-every",
                           "--resume",       "--lr-milestones",
                           "--lr-gamma",     "--threads",
                           "fashion-mnist: 0.02"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  EXPECT_NE(r.out.find("(default: seed-pool)"), std::string::npos);
  EXPECT_NE(r.out.find("(default: 0.001)"), std::string::npos);
  EXPECT_NE(r.out.find("(default: 0.9)"), std::string::npos);
}

// A flag whose help explains its default (--train-size, --threads, --steps)
// once said it twice: "(default: all) (default: 4096)".
TEST(Cli, EveryHelpLineStatesItsDefaultOnce) {
  for (const char* command : {"train", "explain", "eval"}) {
    const CliRun r = cli({command, "--help"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::istringstream lines(r.out);
    int flags = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("  --", 0) != 0) continue;
      ++flags;
      const std::size_t first = line.find("(default");
      if (line.find(" VALUE") != std::string::npos && line.find(" VALUE") < 30) {
        EXPECT_NE(first, std::string::npos) << command << ": " << line;
      }
      if (first != std::string::npos) {
        EXPECT_EQ(line.find("(default", first + 1), std::string::npos) << command << ": " << line;
      }
    }
    EXPECT_GT(flags, 5) << command;
  }
  const CliRun r = cli({"train", "--help"});
  EXPECT_NE(r.out.find("(default: 4096 generated, all of a file set)"), std::string::npos);
}

TEST(Cli, MoreComputeThreadsThanCoresIsWarnedOf) {
  EXPECT_EQ(oversubscription_warning(2, 1, 1, 2), "");  // the default on 2 cores
  EXPECT_EQ(oversubscription_warning(1, 2, 1, 2), "");
  EXPECT_EQ(oversubscription_warning(0, 8, 1, 2), "");  // no CPU device: GPUs
  const std::string four = oversubscription_warning(4, 1, 1, 2);
  EXPECT_NE(four.find("4 CPU devices x 1 thread = 4 compute threads on 2 cores"),
            std::string::npos)
      << four;
  const std::string ranks = oversubscription_warning(1, 1, 3, 2);  // mpirun -np 3, cpu:1 each
  EXPECT_NE(ranks.find("1 CPU device x 1 thread x 3 processes on this machine = 3"),
            std::string::npos)
      << ranks;
  // The run prints it on stderr (and still trains); a run that fits prints none.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::vector<std::string> base{"train", "--input", "3x8x8",  "--train-size", "8",
                                      "--test-size", "4", "--steps", "1", "--batch", "4"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(args);
  };
  const CliRun crowded = with({"--devices", "cpu:2", "--threads", std::to_string(cores)});
  ASSERT_EQ(crowded.status, 0) << crowded.err;
  EXPECT_NE(crowded.err.find("warning: 2 CPU devices x "), std::string::npos) << crowded.err;
  const CliRun fits = with({"--devices", "cpu:1", "--threads", "1"});
  ASSERT_EQ(fits.status, 0) << fits.err;
  EXPECT_EQ(fits.err.find("warning"), std::string::npos) << fits.err;
}

TEST(Cli, BadFlagsAndValuesExitNonZeroWithOneLine) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"train", "--batch", "0"}, "--batch: expected a positive integer, found '0'"},
      {{"train", "--threads", "0"}, "--threads: expected a positive integer, found '0'"},
      {{"train", "--lr", "abc"}, "--lr: expected a number, found 'abc'"},
      {{"train", "--model", "resnet"}, "resnet"},
      {{"train", "--frobnicate"}, "unknown flag --frobnicate"},
      {{"train", "--input", "3x0x32"}, "--input: expected CxHxW with positive sizes"},
      {{"train", "--input", "3x32"}, "three sizes"},
      {{"train", "--devices", "cuda"}, "--devices cuda: no CUDA GPU"},
      {{"train", "--devices", "cpu:0"},
       "--devices cpu:0: cpu:N needs a device count N from 1 to 1024"},
      {{"train", "--devices", "tpu"}, "--devices tpu: unknown device spec"},
      {{"train", "--steps", "5", "--epochs", "2"}, "not both"},
      {{"train", "--batch"}, "expected a value"},
      {{"train", "--data", "imagenet"}, "--data: expected synthetic, random, fashion-mnist[:DIR]"},
      {{"train", "--data", "mnist:/nonexistent"}, "--data mnist:/nonexistent: the folder"},
      {{"train", "--data", "mnist"}, "--data mnist: expected mnist:DIR"},
      {{"train", "--data", "cifar10:"}, "--data: expected a folder after 'cifar10:'"},
      {{"train", "--data", "synthetic:/x"}, "--data: synthetic is generated and takes no folder"},
      {{"train", "--data", "mnist:/"}, "--data mnist:/: expected /train-"},
      {{"train", "--data", "cifar10:/"},
       "--data cifar10:/: expected the CIFAR-10 binary file /data_batch_1.bin"},
      {{"train", "--drop-last", "--train-size", "8", "--batch", "16", "--steps", "1"},
       "--drop-last: the training set has 8 samples, fewer than one batch of 16"},
      {{"train", "--mean", "0.5"}, "--mean/--std: only for file sets"},
      {{"train", "--data", "cifar10:/x", "--mean", "a,b"}, "--mean: expected a number"},
      {{"train", "--save-every", "5"}, "--save-every: needs --save PATH"},
      {{"train", "--lr-milestones", "5,3"}, "--lr-milestones: expected increasing"},
      {{"eval"}, "--init: expected the weights file"},
      {{"eval", "--init", "/nonexistent.safetensors"}, "/nonexistent.safetensors"},
      {{"train", "--lr", "-1"}, "--lr: expected a number >= 0"},
      {{"train", "--nesterov", "--momentum", "0"}, "nesterov"},
      {{"train", "--init", "/nonexistent/w.safetensors", "--steps", "1"},
       "/nonexistent/w.safetensors"},
      {{"frobnicate"}, "unknown command"},
  };
  for (const auto& [args, expected] : cases) {
    const CliRun r = cli(args);
    EXPECT_NE(r.status, 0) << args.back();
    EXPECT_NE(r.err.find(expected), std::string::npos) << "stderr: " << r.err;
    EXPECT_TRUE(one_line(r.err)) << "stderr: " << r.err;
  }
}

TEST(Cli, UnwritableOutputsAreRefusedBeforeAnyWork) {
  const std::string dir = ::testing::TempDir() + "cudp_cli_outputs";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/a_folder");
  const std::string file = dir + "/a_file";
  std::ofstream(file) << "not a folder";
  const std::string logged = dir + "/same.jsonl";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--save", "/no/such/dir/w.safetensors"},
       "--save /no/such/dir/w.safetensors: the folder /no/such/dir does not exist"},
      {{"--save", dir + "/a_folder"}, "--save " + dir + "/a_folder: is a folder"},
      {{"--save", dir + "/a_folder/"}, "is a folder"},
      {{"--save", file + "/w.safetensors"}, file + " is not a folder"},
      {{"--log", "/no/such/l.jsonl"}, "--log /no/such/l.jsonl: the folder /no/such does not exist"},
      {{"--log", dir + "/a_folder"}, "--log " + dir + "/a_folder: is a folder"},
      {{"--trace", "/no/such/t.json"}, "--trace /no/such/t.json: the folder /no/such"},
      {{"--trace", dir}, "--trace " + dir + ": is a folder"},
      {{"--log", logged, "--trace", logged}, "--trace " + logged + ": --log writes this file too"},
  };
  for (const auto& [flags, expected] : cases) {
    std::vector<std::string> args = {"train", "--devices", "cpu:1", "--steps", "1"};
    args.insert(args.end(), flags.begin(), flags.end());
    const CliRun r = cli(args);
    EXPECT_NE(r.status, 0) << flags[1];
    EXPECT_NE(r.err.find(expected), std::string::npos) << "stderr: " << r.err;
    EXPECT_TRUE(one_line(r.err)) << "stderr: " << r.err;
    EXPECT_EQ(r.out, "") << "refused before the config table, the data and the first step";
  }
  // Nothing was written: no probe left behind, no optimizer state next to a folder.
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"a_file", "a_folder"}));
  EXPECT_TRUE(std::filesystem::is_empty(dir + "/a_folder"));
  // A writable place still trains, and the log that was checked is appended to.
  const CliRun ok = cli({"train", "--devices", "cpu:1", "--steps", "1", "--train-size", "32",
                         "--test-size", "32", "--log", logged});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_TRUE(std::filesystem::file_size(logged) > 0);
  std::filesystem::remove_all(dir);
}

TEST(Cli, SeedModelIsRefusedOn3x32x32AtFc1) {
  const CliRun r = cli({"train", "--model", "seed", "--steps", "1"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("fc1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("4096"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("65536"), std::string::npos) << r.err;
}

TEST(Cli, SeedModelTrainsOn3x8x8) {
  const CliRun r = cli({"train", "--model", "seed", "--input", "3x8x8", "--steps", "2",
                        "--train-size", "64", "--test-size", "16", "--data", "random"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("step 2/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done: 2 steps"), std::string::npos) << r.out;
}

TEST(Cli, ConfigTableStepLinesAndSummary) {
  const CliRun r = cli({"train", "--steps", "4", "--log-every", "2", "--train-size", "64",
                        "--test-size", "32", "--batch", "16"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* part :
       {"model       seed-pool (2,141,514 parameters)", "step 2/4  loss ", "step 4/4  loss ",
        "ms/step", "samples/s", "held-out loss", "done: 4 steps, 64 samples"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
}

TEST(Cli, SameSeedSameLosses) {
  const std::vector<std::string> args = {
      "train", "--steps", "3", "--log-every", "1", "--train-size", "96", "--test-size", "0"};
  const CliRun a = cli(args), b = cli(args);
  ASSERT_EQ(a.status, 0) << a.err;
  // Every line but the timings: strip from " acc" on each step line.
  auto losses = [](const std::string& out) {
    std::string kept;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("step ", 0) == 0) kept += line.substr(0, line.find(" ms/step") - 8) + "\n";
    return kept;
  };
  EXPECT_EQ(losses(a.out), losses(b.out));
  EXPECT_NE(losses(a.out).find("step 3/3"), std::string::npos);
}

TEST(Cli, SaveThenInitRoundTrips) {
  const std::string path = ::testing::TempDir() + "cudp_cli_weights.safetensors";
  const CliRun saved =
      cli({"train", "--steps", "1", "--train-size", "32", "--test-size", "0", "--save", path});
  ASSERT_EQ(saved.status, 0) << saved.err;
  const SafetensorsFile file = read_safetensors(path);
  ASSERT_NE(file.find("conv1.weight"), nullptr);
  ASSERT_NE(file.find("fc2.bias"), nullptr);
  EXPECT_EQ(file.tensors.size(), 8u);
  EXPECT_EQ(file.metadata.at("model"), "seed-pool");
  const CliRun loaded =
      cli({"train", "--steps", "1", "--train-size", "32", "--test-size", "0", "--init", path});
  EXPECT_EQ(loaded.status, 0) << loaded.err;
  // The same file is refused by a model of another shape, naming the tensor.
  const CliRun wrong = cli({"train", "--steps", "1", "--input", "1x28x28", "--init", path});
  EXPECT_NE(wrong.status, 0);
  EXPECT_NE(wrong.err.find("conv1.weight"), std::string::npos) << wrong.err;
  std::remove(path.c_str());
}

TEST(Flags, InlineValuesBooleansAndRepeats) {
  Flags f("t");
  f.add("n", "1", "a number");
  f.add_bool("b", "a switch");
  f.parse({"--n=5", "--b"});
  EXPECT_EQ(f.positive_int("n"), 5);
  EXPECT_TRUE(f.boolean("b"));
  Flags g("t");
  g.add("n", "1", "a number");
  EXPECT_THROW(g.parse({"--n", "1", "--n", "2"}), Error);
  EXPECT_THROW(parse_input_shape("3x32x32x1"), Error);
  EXPECT_EQ(parse_input_shape("1x28x28"), (Shape{1, 28, 28}));
}

TEST(Cli, ThreadsPerCpuDeviceIsShownAndSameThreadCountIsReproducible) {
  const std::vector<std::string> args = {"train", "--devices", "cpu", "--threads", "2",
                                         "--steps", "2", "--log-every", "1", "--train-size",
                                         "64", "--test-size", "0"};
  const CliRun a = cli(args), b = cli(args);
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_NE(a.out.find("2 threads each"), std::string::npos) << a.out;
  auto losses = [](const std::string& out) {
    std::string kept;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("step ", 0) == 0) kept += line.substr(0, line.find("  acc")) + "\n";
    return kept;
  };
  EXPECT_EQ(losses(a.out), losses(b.out));
  EXPECT_NE(losses(a.out).find("step 2/2"), std::string::npos);
}

}  // namespace
}  // namespace cudp
