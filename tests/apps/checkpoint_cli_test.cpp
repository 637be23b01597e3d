// `cudp train --save/--save-every/--resume/--log` and `cudp eval`, driven
// in-process: k steps, save, resume, k steps is bitwise 2k steps straight (one
// device, dp and ddp over two CPU devices, across an epoch boundary, with
// shuffle, Nesterov momentum and weight decay); flags that would change the
// numbers are refused on resume; eval reads the run's metadata.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "apps/cli.h"
#include "checkpoint/checkpoint.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "tests/common/cli_run.h"
#include "tests/common/test_files.h"
#include "tests/data/make_files.h"

namespace cudp {
namespace {

using test::cli;
using test::CliRun;

using FlagMap = std::map<std::string, std::string>;  // "" for a boolean flag

// 40 samples in batches of 8: 5 steps per epoch; step 7 is inside epoch 2.
const FlagMap kRun = {{"input", "3x8x8"},       {"train-size", "40"}, {"test-size", "8"},
                      {"batch", "8"},           {"lr", "0.05"},       {"nesterov", ""},
                      {"weight-decay", "0.01"}, {"log-every", "1"}};

// `cudp train` with kRun's flags, replaced or completed by each map in turn.
std::vector<std::string> train(std::initializer_list<FlagMap> overrides) {
  FlagMap flags = kRun;
  for (const FlagMap& o : overrides)
    for (const auto& [k, v] : o) flags[k] = v;
  std::vector<std::string> args = {"train"};
  for (const auto& [k, v] : flags) {
    args.push_back("--" + k);
    if (!v.empty()) args.push_back(v);
  }
  return args;
}

using CheckpointCli = test::ScratchFolder;

void expect_same_files(const std::string& a, const std::string& b) {
  const SafetensorsFile fa = read_safetensors(a), fb = read_safetensors(b);
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size()) << a << " vs " << b;
  for (const NamedTensor& t : fa.tensors) {
    const NamedTensor* u = fb.find(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    ASSERT_EQ(t.values.size(), u->values.size()) << t.name;
    int64_t differ = 0;
    for (size_t i = 0; i < t.values.size(); ++i)
      differ += std::memcmp(&t.values[i], &u->values[i], sizeof(float)) != 0;
    EXPECT_EQ(differ, 0) << t.name << ": " << differ << " of " << t.values.size()
                         << " values differ between " << a << " and " << b;
  }
  for (const char* key : {"step", "epoch", "loader_offset"})
    EXPECT_EQ(fa.metadata.at(key), fb.metadata.at(key)) << key;
}

// The "loss" of every step line of a --log file, by step.
std::map<int64_t, std::string> logged_losses(const std::string& path) {
  std::map<int64_t, std::string> losses;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const json::Value v = json::parse(line, path);
    std::map<std::string, const json::Value*> m;
    for (const auto& [k, member] : v.members) m[k] = &member;
    if (m.at("event")->text == "step") losses[std::stoll(m.at("step")->text)] = m.at("loss")->text;
  }
  return losses;
}

TEST_F(CheckpointCli, ResumeContinuesBitwiseOnOneDeviceDpAndDdp) {
  const std::vector<FlagMap> modes = {{{"devices", "cpu"}},
                                      {{"devices", "cpu:2"}, {"parallel", "dp"}},
                                      {{"devices", "cpu:2"}, {"parallel", "ddp"}},
                                      {{"devices", "cpu"}, {"drop-last", ""}, {"train-size", "43"}},
                                      {{"devices", "cpu:2"}, {"no-shuffle", ""}}};
  for (const auto& mode : modes) {
    std::string name;
    for (const auto& [k, v] : mode) name += " --" + k + " " + v;
    SCOPED_TRACE(name);
    const std::string straight = path("straight.safetensors"), half = path("half.safetensors"),
                      resumed = path("resumed.safetensors");
    const CliRun a =
        cli(train({mode, {{"steps", "14"}, {"save", straight}, {"log", path("a.jsonl")}}}));
    ASSERT_EQ(a.status, 0) << a.err;
    const CliRun b = cli(train({mode, {{"steps", "7"}, {"save", half}}}));
    ASSERT_EQ(b.status, 0) << b.err;
    const CliRun c = cli(train(
        {mode, {{"steps", "14"}, {"resume", half}, {"save", resumed}, {"log", path("c.jsonl")}}}));
    ASSERT_EQ(c.status, 0) << c.err;
    EXPECT_NE(c.out.find("resumed at step 7"), std::string::npos) << c.out;
    EXPECT_EQ(c.out.find("step  7/14"), std::string::npos) << "step 7 ran again:\n" << c.out;
    expect_same_files(straight, resumed);
    expect_same_files(optimizer_state_path(straight), optimizer_state_path(resumed));
    // Every resumed step's loss is the straight run's, to the last digit logged.
    const auto all = logged_losses(path("a.jsonl")), rest = logged_losses(path("c.jsonl"));
    ASSERT_EQ(rest.size(), 7u);
    for (const auto& [step, loss] : rest) EXPECT_EQ(loss, all.at(step)) << "step " << step;
    std::filesystem::remove(path("a.jsonl"));
    std::filesystem::remove(path("c.jsonl"));
  }
}

TEST_F(CheckpointCli, ResumeTheSameWayTwiceGivesTheSameFile) {
  const std::string half = path("h.safetensors");
  ASSERT_EQ(cli(train({{{"steps", "3"}, {"save", half}}})).status, 0);
  for (const char* out : {"x.safetensors", "y.safetensors"}) {
    const CliRun r = cli(train({{{"steps", "6"}, {"resume", half}, {"save", path(out)}}}));
    ASSERT_EQ(r.status, 0) << r.err;
  }
  expect_same_files(path("x.safetensors"), path("y.safetensors"));
}

TEST_F(CheckpointCli, SaveEveryNamesFilesWithTheStep) {
  const std::string p = path("run.safetensors");
  const CliRun r = cli(train({{{"steps", "7"}, {"save", p}, {"save-every", "3"}}}));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* name :
       {"run.safetensors", "run.optim.safetensors", "run.step3.safetensors",
        "run.step3.optim.safetensors", "run.step6.safetensors", "run.step6.optim.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(path(name))) << name << "\n" << r.out;
  EXPECT_EQ(files().size(), 6u) << "no temporary file left behind";
  const SafetensorsFile f = read_safetensors(path("run.step6.safetensors"));
  EXPECT_EQ(f.metadata.at("step"), "6");
  EXPECT_EQ(f.metadata.at("epoch"), "1");  // 0-based epoch of the next batch
  EXPECT_EQ(f.metadata.at("loader_offset"), "8");
  EXPECT_EQ(f.metadata.at("model"), "seed-pool");
  EXPECT_EQ(f.metadata.at("input"), "3x8x8");
  EXPECT_EQ(f.metadata.at("lr"), "0.0500000007");
  EXPECT_EQ(f.metadata.at("nesterov"), "true");
  EXPECT_EQ(f.tensors.size(), 8u);
  EXPECT_EQ(read_safetensors(path("run.step6.optim.safetensors")).tensors.size(), 8u);
}

TEST_F(CheckpointCli, ResumeRefusesFlagsThatChangeTheNumbers) {
  const std::string half = path("h.safetensors");
  ASSERT_EQ(cli(train({{{"steps", "3"}, {"save", half}}})).status, 0);
  const std::vector<std::pair<FlagMap, std::string>> cases = {
      {{{"lr", "0.1"}},
       "--resume " + half +
           ": the run was saved with --lr 0.0500000007, this one has --lr "
           "0.100000001"},
      {{{"seed", "3"}}, "--seed"},
      {{{"no-shuffle", ""}}, "--no-shuffle"},
      {{{"momentum", "0.5"}}, "--momentum"},
      {{{"input", "3x12x12"}}, "saved with --input 3x8x8, this one has --input 3x12x12"},
      {{{"steps", "3"}}, "at step 3 already"},
  };
  for (const auto& [extra, expected] : cases) {
    const CliRun r = cli(train({{{"steps", "6"}, {"resume", half}}, extra}));
    EXPECT_NE(r.status, 0) << extra.begin()->first;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  }
  const CliRun both = cli(train({{{"resume", half}, {"init", half}}}));
  EXPECT_NE(both.err.find("--resume and --init"), std::string::npos) << both.err;
  std::filesystem::remove(optimizer_state_path(half));
  const CliRun lone = cli(train({{{"steps", "6"}, {"resume", half}}}));
  EXPECT_NE(lone.status, 0);
  EXPECT_NE(lone.err.find("--resume " + half + ": needs its optimizer state " +
                          optimizer_state_path(half)),
            std::string::npos)
      << lone.err;
}

TEST_F(CheckpointCli, InitAcceptsDataParallelsModulePrefix) {
  const std::string p = path("w.safetensors");
  ASSERT_EQ(cli(train({{{"steps", "1"}, {"save", p}}})).status, 0);
  SafetensorsFile f = read_safetensors(p);
  for (NamedTensor& t : f.tensors) t.name = "module." + t.name;
  write_safetensors(path("dp.safetensors"), f.tensors);
  const CliRun r = cli(train({{{"steps", "1"}, {"init", path("dp.safetensors")}}}));
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(CheckpointCli, FileDataTrainsEvaluatesAndRefusesAnotherShape) {
  test::write_idx_folder(folder_ / "fm", 48, 20);
  const std::string data = "fashion-mnist:" + path("fm"), w = path("fm.safetensors");
  const CliRun r = cli({"train", "--data", data, "--epochs", "2", "--batch", "16", "--devices",
                        "cpu", "--save", w, "--mean", "0.5", "--std", "0.25"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* part : {"input       1x28x28", "48 train, 20 test", "mean 0.5 std 0.25",
                           "epoch 1/2  test loss", "epoch 2/2  test loss", "test accuracy"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  // eval takes the data, mean and std from the file's metadata.
  const CliRun e = cli({"eval", "--init", w});
  ASSERT_EQ(e.status, 0) << e.err;
  for (const char* part : {"20 test samples, mean 0.5 std 0.25", "test loss", "accuracy",
                           "confusion matrix", "9 Ankle boot", "recall"})
    EXPECT_NE(e.out.find(part), std::string::npos) << part << "\n" << e.out;
  // Images of another shape: refused before training, naming both shapes.
  const CliRun shape = cli({"train", "--data", data, "--input", "3x32x32", "--steps", "1"});
  EXPECT_NE(shape.err.find("the images are 1x28x28 but model seed-pool was built for 3x32x32"),
            std::string::npos)
      << shape.err;
  test::write_cifar_folder(folder_ / "c", 2, 4);
  const CliRun other = cli({"eval", "--init", w, "--data", "cifar10:" + path("c")});
  EXPECT_NE(other.status, 0);
  EXPECT_NE(other.err.find("conv1.weight: expected 64x3x3x3, found 64x1x3x3"), std::string::npos)
      << other.err;
  // The data and devices errors of the library name their flags (apps/flag_errors.h).
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"eval", "--init", w, "--devices", "cpu:x"}, "--devices cpu:x: cpu:N needs a device count"},
      {{"eval", "--init", w, "--data", "mnist"}, "--data mnist: expected mnist:DIR"},
      {{"train", "--data", data, "--mean", "0.1,0.2", "--steps", "1"},
       "--mean: expected 1 value or 1 (one per channel of the images), found 2"},
  };
  for (const auto& [args, expected] : bad) {
    const CliRun b = cli(args);
    EXPECT_NE(b.status, 0) << expected;
    EXPECT_NE(b.err.find(expected), std::string::npos) << "stderr: " << b.err;
  }
}

TEST_F(CheckpointCli, TrainAndTestImagesOfTwoShapesNameTheDataFlag) {
  test::write_idx_folder(folder_ / "m", 4, 2);
  test::write_file(folder_ / "m" / "t10k-images-idx3-ubyte.gz",
                   test::gzip_bytes(test::idx_bytes(0x803, {2, 8, 8}, test::sample_pixels(2, 64))));
  const CliRun r = cli({"train", "--data", "mnist:" + path("m"), "--steps", "1"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--data mnist:" + path("m") +
                       ": training images are 1x28x28 but test images are 1x8x8"),
            std::string::npos)
      << r.err;
}

TEST_F(CheckpointCli, MissingDataIsOneLineNamingThePackage) {
  const CliRun r = cli({"train", "--data", "fashion-mnist:" + path("none"), "--steps", "1"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("apt-get install dataset-fashion-mnist"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--data fashion-mnist:" + path("none") + ": the folder"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("or give fashion-mnist:DIR"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

TEST_F(CheckpointCli, LogWritesOneJsonLinePerProgressLineAndEpoch) {
  const std::string log = path("run.jsonl");
  const CliRun r = cli(train({{{"steps", "7"}, {"log", log}, {"log-every", "2"}}}));
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream in(log);
  std::vector<std::string> events;
  for (std::string line; std::getline(in, line);) {
    const json::Value v = json::parse(line, log);  // throws on a bad line
    events.push_back(v.members.at(0).second.text);
  }
  // start; steps 2, 4, 6, 7; epoch 1 after step 5; the partial epoch 2 at the end.
  EXPECT_EQ(events,
            (std::vector<std::string>{"start", "step", "step", "epoch", "step", "step", "epoch"}));
}

}  // namespace
}  // namespace cudp
