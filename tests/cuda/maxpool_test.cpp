// CUDA max-pooling forward and backward, every version, against the CPU twin
// (kernels/maxpool.h, kernels/cuda/maxpool.cu).
//
// Small-integer inputs make ties in almost every window, so argmax must follow the
// first-index rule exactly; NaN inputs (two in one window too) must win as in PyTorch.
// Everything here is compared bit for bit: forward copies values, and backward adds dy
// into zero in the CPU's window order; every 9th dy is -0, which the CPU twin's 0 + dy turns
// into +0 (the sign of a zero gradient is compared too). Shapes cover v2's fast path (2x2,
// stride 2, W % 4 == 0, odd and even H), overlapping windows (stride < kernel), gaps
// (stride > kernel), a window covering the whole plane, non-square inputs, and 64x64 planes
// of 32x32 (4M inputs) that walk every grid-stride loop several times.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cuda/versions.h"
#include "kernels/maxpool.h"
#include "runtime/error.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/cuda/cuda_test.h"

namespace cudp {
namespace {

using test::all_identical;

MaxPool2dShape shape(int64_t N, int64_t C, int64_t H, int64_t W, int64_t kernel, int64_t stride) {
  MaxPool2dShape s;
  s.N = N, s.C = C, s.H = H, s.W = W, s.kernel = kernel, s.stride = stride;
  return s;
}

std::string describe(const MaxPool2dShape& s) {
  return "N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) + " H=" + std::to_string(s.H) +
         " W=" + std::to_string(s.W) + " kernel=" + std::to_string(s.kernel) +
         " stride=" + std::to_string(s.stride);
}

const MaxPool2dShape kShapes[] = {
    shape(1, 1, 2, 2, 2, 2),     shape(2, 3, 8, 8, 2, 2),   shape(1, 2, 7, 8, 2, 2),
    shape(2, 3, 9, 9, 2, 2),     shape(1, 3, 9, 10, 3, 2),  shape(2, 2, 7, 7, 3, 1),
    shape(1, 1, 5, 5, 5, 5),     shape(3, 5, 33, 32, 2, 2), shape(1, 1, 6, 6, 2, 3),
    shape(32, 64, 16, 16, 2, 2), shape(1, 1, 4, 12, 2, 2),  shape(2, 1, 11, 6, 4, 3),
    shape(64, 64, 32, 32, 2, 2),
};

class CudaMaxPool : public test::CudaTest {
 protected:
  void check(const MaxPool2dShape& s, const std::vector<float>& x) {
    auto dy = test::random_floats(s.y_size(), 77);
    for (int64_t i = 0; i < s.y_size(); i += 9) dy[i] = -0.0f;
    std::vector<float> y_ref(s.y_size()), dx_ref(s.x_size());
    std::vector<int32_t> argmax_ref(s.y_size());
    cpu::maxpool2d_forward(cpu, s, x.data(), y_ref.data(), argmax_ref.data());
    cpu::maxpool2d_backward(cpu, s, dy.data(), argmax_ref.data(), dx_ref.data());
    const auto d_x = upload(x), d_dy = upload(dy);
    const auto d_argmax = upload(argmax_ref);
    for (int v = 1; v <= cuda::maxpool2d_versions(); ++v) {
      const std::string what = "v" + std::to_string(v) + " " + describe(s);
      SCOPED_TRACE(what);
      auto y = poisoned<float>(s.y_size());
      auto argmax = poisoned<int32_t>(s.y_size());
      cuda::maxpool2d_forward_version(v, gpu, s, d_x.data(), y.data(), argmax.data());
      EXPECT_TRUE(all_identical(download(y), y_ref, "forward y " + what));
      EXPECT_EQ(download(argmax), argmax_ref) << "forward argmax " << what;
      auto dx = poisoned<float>(s.x_size());
      cuda::maxpool2d_backward_version(v, gpu, s, d_dy.data(), d_argmax.data(), dx.data());
      EXPECT_TRUE(all_identical(download(dx), dx_ref, "backward " + what));
    }
  }
};

TEST_F(CudaMaxPool, TiesGoToTheFirstIndex) {
  for (const MaxPool2dShape& s : kShapes) check(s, test::random_small_ints(s.x_size(), 5, 1));
}

TEST_F(CudaMaxPool, RandomFloats) {
  for (const MaxPool2dShape& s : kShapes) check(s, test::random_floats(s.x_size(), 6));
}

TEST_F(CudaMaxPool, NanWinsAndInfinitiesAreValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (const MaxPool2dShape& s : kShapes) {
    auto x = test::random_small_ints(s.x_size(), 8, 2);
    for (int64_t i = 0; i < s.x_size(); i += 5) x[i] = nan;  // often two NaNs in a window
    for (int64_t i = 2; i < s.x_size(); i += 11) x[i] = -inf;
    for (int64_t i = 3; i < s.x_size(); i += 13) x[i] = inf;
    check(s, x);
  }
}

TEST_F(CudaMaxPool, AllMinusInfinityReportsTheFirstElement) {
  const MaxPool2dShape s = shape(1, 2, 4, 8, 2, 2);
  check(s, std::vector<float>(s.x_size(), -std::numeric_limits<float>::infinity()));
}

TEST_F(CudaMaxPool, PublicOpsAndBadShape) {
  const MaxPool2dShape s = shape(2, 3, 8, 8, 2, 2);
  const auto x = test::random_floats(s.x_size(), 9);
  auto dy = test::random_floats(s.y_size(), 10);
  for (int64_t i = 0; i < s.y_size(); i += 9) dy[i] = -0.0f;
  std::vector<float> y_ref(s.y_size()), dx_ref(s.x_size());
  std::vector<int32_t> argmax_ref(s.y_size());
  cpu::maxpool2d_forward(cpu, s, x.data(), y_ref.data(), argmax_ref.data());
  cpu::maxpool2d_backward(cpu, s, dy.data(), argmax_ref.data(), dx_ref.data());
  const auto d_x = upload(x), d_dy = upload(dy);
  auto y = poisoned<float>(s.y_size()), dx = poisoned<float>(s.x_size());
  auto argmax = poisoned<int32_t>(s.y_size());
  maxpool2d_forward(gpu, s, d_x.data(), y.data(), argmax.data());
  maxpool2d_backward(gpu, s, d_dy.data(), argmax.data(), dx.data());
  EXPECT_TRUE(all_identical(download(y), y_ref, "public forward"));
  EXPECT_EQ(download(argmax), argmax_ref);
  EXPECT_TRUE(all_identical(download(dx), dx_ref, "public backward"));
  EXPECT_THROW(maxpool2d_forward(gpu, shape(1, 1, 2, 2, 3, 1), nullptr, nullptr, nullptr), Error);
}

}  // namespace
}  // namespace cudp
