// Weights files: a net saved and loaded under its state_dict names, and every
// mismatch refused with the tensor's name, both shapes and the file, leaving
// the net untouched.
#include "checkpoint/weights.h"

#include "io/safetensors.h"
#include "model/models.h"
#include "runtime/error.h"
#include "tests/common/test_files.h"
#include "tests/common/tolerance.h"

namespace cudp {
namespace {

using Weights = test::ScratchFolder;

std::vector<float> params_of(const Sequential& net) {
  return {net.params(), net.params() + net.param_count()};  // CPU nets: host memory
}

std::string load_error(Sequential& net, const std::string& path) {
  try {
    load_weights(net, path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(Weights, SaveThenLoadRestoresEveryParameter) {
  auto saved = build_model("seed-pool", {1, 12, 12}, cpu_device());
  saved->init(1);
  const std::string p = path("w.safetensors");
  save_weights(*saved, p, {{"model", "seed-pool"}});
  const SafetensorsFile file = read_safetensors(p);
  EXPECT_EQ(file.metadata.at("model"), "seed-pool");
  ASSERT_EQ(file.tensors.size(), saved->named_params().size());
  for (std::size_t i = 0; i < file.tensors.size(); ++i) {
    EXPECT_EQ(file.tensors[i].name, saved->named_params()[i].name);
    EXPECT_EQ(file.tensors[i].shape, saved->named_params()[i].shape);
  }
  auto loaded = build_model("seed-pool", {1, 12, 12}, cpu_device());
  loaded->init(2);
  load_weights(*loaded, p);
  EXPECT_TRUE(test::all_identical(params_of(*loaded), params_of(*saved), "loaded params"));
  EXPECT_EQ(files(), std::vector<std::string>{"w.safetensors"});
}

TEST_F(Weights, DataParallelModulePrefixIsAccepted) {
  auto net = build_model("seed-pool", {1, 8, 8}, cpu_device());
  net->init(3);
  const std::vector<float> values = params_of(*net);
  std::vector<NamedTensor> tensors;
  for (const NamedParam& p : net->named_params())
    tensors.push_back({"module." + p.name,
                       p.shape,
                       {values.begin() + p.offset, values.begin() + p.offset + p.numel()}});
  write_safetensors(path("dp.safetensors"), tensors);
  net->init(4);
  load_weights(*net, path("dp.safetensors"));
  EXPECT_TRUE(test::all_identical(params_of(*net), values, "params"));
}

TEST_F(Weights, WrongShapeMissingOrExtraTensorsAreRefused) {
  auto gray = build_model("seed-pool", {1, 8, 8}, cpu_device());
  gray->init(5);
  const std::string gray_path = path("gray.safetensors");
  save_weights(*gray, gray_path);

  auto color = build_model("seed-pool", {3, 8, 8}, cpu_device());
  color->init(6);
  const std::vector<float> before = params_of(*color);
  std::string m = load_error(*color, gray_path);
  EXPECT_NE(m.find("conv1.weight: expected 64x3x3x3, found 64x1x3x3 in " + gray_path),
            std::string::npos)
      << m;
  EXPECT_TRUE(test::all_identical(params_of(*color), before, "params after a refused load"));

  SafetensorsFile file = read_safetensors(gray_path);
  std::vector<NamedTensor> fewer(file.tensors.begin(), file.tensors.end() - 1);  // no fc2.bias
  write_safetensors(path("fewer.safetensors"), fewer);
  m = load_error(*gray, path("fewer.safetensors"));
  EXPECT_NE(m.find("missing tensor 'fc2.bias'"), std::string::npos) << m;
  EXPECT_NE(m.find(path("fewer.safetensors")), std::string::npos) << m;

  std::vector<NamedTensor> more = file.tensors;
  more.push_back({"fc3.weight", {2, 2}, {1, 2, 3, 4}});
  write_safetensors(path("more.safetensors"), more);
  m = load_error(*gray, path("more.safetensors"));
  EXPECT_NE(m.find("unexpected tensor 'fc3.weight'"), std::string::npos) << m;

  std::vector<NamedTensor> renamed = file.tensors;
  renamed[0].name = "conv0.weight";
  write_safetensors(path("renamed.safetensors"), renamed);
  m = load_error(*gray, path("renamed.safetensors"));
  EXPECT_NE(m.find("missing tensor 'conv1.weight'"), std::string::npos) << m;

  std::vector<NamedTensor> twice = file.tensors;
  twice.push_back(file.tensors[0]);
  twice.back().name = "module." + twice.back().name;
  write_safetensors(path("twice.safetensors"), twice);
  m = load_error(*gray, path("twice.safetensors"));
  EXPECT_NE(m.find("appears twice"), std::string::npos) << m;
}

TEST_F(Weights, CorruptFileIsRefusedWithItsPath) {
  auto net = build_model("seed-pool", {1, 8, 8}, cpu_device());
  write_bytes(path("junk.safetensors"), "this is not a weights file at all");
  const std::string m = load_error(*net, path("junk.safetensors"));
  EXPECT_NE(m.find(path("junk.safetensors")), std::string::npos) << m;
}

}  // namespace
}  // namespace cudp
