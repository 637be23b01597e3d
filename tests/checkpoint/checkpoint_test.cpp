// Checkpoints (checkpoint/checkpoint.h): the pair of files round trips the net, the
// momentum buffer, the step count and the loader position; a trainer restored
// from it continues bitwise; every mismatched or corrupt pair is refused with
// the file, the tensor or key, what was expected and what was found.
#include "checkpoint/checkpoint.h"

#include <cstring>
#include <filesystem>

#include "io/safetensors.h"
#include "model/models.h"
#include "model/one_device_trainer.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_files.h"

namespace cudp {
namespace {

using Checkpoints = test::ScratchFolder;

const Shape kInput = {1, 8, 8};
const SgdOptions kSgd = {0.05f, 0.9f, 0.0f, 0.01f, true, false};

// A fixed batch of 6 samples; step i uses it scaled so that steps differ.
struct TinyRun {
  std::unique_ptr<Sequential> net = build_model("seed-pool", kInput, cpu_device());
  OneDeviceTrainer trainer{(net->init(3), *net), Context{cpu_device()}, kSgd};
  void steps(int k) {
    std::vector<float> x(6 * 64);
    std::vector<int32_t> y = {0, 1, 2, 3, 4, 5};
    for (int i = 0; i < k; ++i) {
      const int64_t t = trainer.optimizer().steps_taken();
      for (size_t j = 0; j < x.size(); ++j) x[j] = static_cast<float>((j * 7 + t * 13) % 17) / 17;
      trainer.step(x.data(), y.data(), 6);
    }
  }
  std::vector<float> params() const { return {net->params(), net->params() + net->param_count()}; }
};

TEST_F(Checkpoints, SiblingAndStepNames) {
  EXPECT_EQ(optimizer_state_path("a/run.safetensors"), "a/run.optim.safetensors");
  EXPECT_EQ(optimizer_state_path("run.bin"), "run.bin.optim.safetensors");
  EXPECT_EQ(step_checkpoint_path("a/run.safetensors", 300), "a/run.step300.safetensors");
}

TEST_F(Checkpoints, RestoredTrainerContinuesBitwise) {
  TinyRun straight, first, resumed;
  straight.steps(6);
  first.steps(3);
  const std::string p = path("c.safetensors");
  save_checkpoint(p, *first.net, first.trainer.optimizer(), {3, {1, 12}}, {{"model", "seed-pool"}});
  const Checkpoint c = load_checkpoint(p, *resumed.net, resumed.trainer.optimizer());
  EXPECT_EQ(c.state.step, 3);
  EXPECT_EQ(c.state.loader.epoch, 1);
  EXPECT_EQ(c.state.loader.offset, 12);
  EXPECT_EQ(c.metadata.at("model"), "seed-pool");
  EXPECT_EQ(c.metadata.at("format"), "pt");
  EXPECT_EQ(resumed.trainer.optimizer().steps_taken(), 3);
  resumed.steps(3);
  const auto a = straight.params(), b = resumed.params();
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
}

TEST_F(Checkpoints, NoMomentumNoStepMeansAnEmptyOptimizerFile) {
  TinyRun fresh;
  save_checkpoint(path("c.safetensors"), *fresh.net, fresh.trainer.optimizer(), {}, {});
  const SafetensorsFile optim = read_safetensors(path("c.optim.safetensors"));
  EXPECT_TRUE(optim.tensors.empty());  // PyTorch has no buffer before the first step either
  EXPECT_EQ(optim.metadata.at("sgd_steps"), "0");
  EXPECT_EQ(optim.metadata.at("nesterov"), "true");
}

class BadCheckpoints : public test::ScratchFolder {
 protected:
  void SetUp() override {
    test::ScratchFolder::SetUp();
    p = path("c.safetensors");
    saved.steps(2);
    save_checkpoint(p, *saved.net, saved.trainer.optimizer(), {2, {0, 12}}, {});
  }
  // The optimizer file rewritten with `edit` applied to its tensors and metadata.
  template <class Edit>
  void rewrite_optim(Edit edit) {
    SafetensorsFile f = read_safetensors(optimizer_state_path(p));
    edit(f);
    write_safetensors(optimizer_state_path(p), f.tensors, f.metadata);
  }
  TinyRun saved, target;
  std::string p;
};

TEST_F(BadCheckpoints, MissingOrCorruptOptimizerFile) {
  std::filesystem::remove(optimizer_state_path(p));
  EXPECT_PARAMETER_ERROR(
      load_checkpoint(p, *target.net, target.trainer.optimizer()), "checkpoint",
      "checkpoint " + p + ": needs its optimizer state " + optimizer_state_path(p), "No such file");
  write_bytes(optimizer_state_path(p), std::string("\x10\0\0\0\0\0\0\0{\"a\":", 13));
  EXPECT_ERROR(load_checkpoint(p, *target.net, target.trainer.optimizer()), optimizer_state_path(p),
               "runs past the end of the file");
}

TEST_F(BadCheckpoints, StepsThatDisagreeMeanTheFilesAreNotAPair) {
  rewrite_optim([](SafetensorsFile& f) { f.metadata["step"] = "5"; });
  EXPECT_ERROR(load_checkpoint(p, *target.net, target.trainer.optimizer()),
               "step 5 but " + p + " has step 2", "not written by the same save");
}

TEST_F(BadCheckpoints, MomentumNamesAndShapesMustMatchTheNet) {
  rewrite_optim([](SafetensorsFile& f) { f.tensors.pop_back(); });
  EXPECT_ERROR(load_checkpoint(p, *target.net, target.trainer.optimizer()),
               "missing momentum buffer 'fc2.bias' (expected 10)");
  rewrite_optim([](SafetensorsFile& f) {
    f.tensors.push_back({"fc2.bias", {5}, {1, 2, 3, 4, 5}});
  });
  EXPECT_ERROR(load_checkpoint(p, *target.net, target.trainer.optimizer()),
               "momentum buffer 'fc2.bias': expected 10, found 5");
}

TEST_F(BadCheckpoints, ExtraMomentumTensorIsNamed) {
  rewrite_optim([](SafetensorsFile& f) { f.tensors.push_back({"fc3.weight", {1}, {1}}); });
  EXPECT_ERROR(load_checkpoint(p, *target.net, target.trainer.optimizer()),
               "unexpected tensor 'fc3.weight' (1)");
}

TEST_F(BadCheckpoints, MomentumForARunWithoutMomentumIsRefused) {
  auto net = build_model("seed-pool", kInput, cpu_device());
  Sgd plain(cpu_device(), net->param_count(), {0.05f});
  EXPECT_ERROR(load_checkpoint(p, *net, plain), "holds momentum buffers (conv1.weight, ...)",
               "this run has momentum 0", "expected none");
}

TEST_F(BadCheckpoints, WeightsOfAnotherShapeAreRefusedBeforeAnythingChanges) {
  auto net = build_model("seed-pool", {1, 12, 12}, cpu_device());
  net->init(9);
  Sgd sgd(cpu_device(), net->param_count(), kSgd);
  const std::vector<float> before(net->params(), net->params() + net->param_count());
  EXPECT_ERROR(load_checkpoint(p, *net, sgd),
               "momentum buffer 'fc1.weight': expected 512x576, found 512x256");
  EXPECT_EQ(std::vector<float>(net->params(), net->params() + net->param_count()), before);
  EXPECT_EQ(sgd.steps_taken(), 0);
}

TEST_F(BadCheckpoints, PlainWeightsFileIsNoCheckpoint) {
  SafetensorsFile f = read_safetensors(p);
  write_safetensors(path("plain.safetensors"), f.tensors, {{"format", "pt"}});
  EXPECT_ERROR(load_checkpoint(path("plain.safetensors"), *target.net, target.trainer.optimizer()),
               "expected __metadata__ key 'step'",
               "a plain weights file initialises a net but cannot resume a run");
}

TEST_F(BadCheckpoints, TruncatedWeightsFileIsRefused) {
  const std::string bytes = read_bytes(p);
  write_bytes(p, bytes.substr(0, bytes.size() - 3));
  EXPECT_ERROR(load_checkpoint(p, *target.net, target.trainer.optimizer()), p,
               "run past the end of the data", "truncated?");
}

}  // namespace
}  // namespace cudp
