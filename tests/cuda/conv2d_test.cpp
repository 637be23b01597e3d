// CUDA conv2d forward, backward-data and backward-weight, every version, against the CPU twin
// (kernels/conv2d.h, kernels/cuda/conv2d.cu).
//
// Small-integer tensors (|x| <= 3) keep every sum exact (below 2^24), so the implicit GEMM's
// and split-K's summation orders must still give the CPU's result bit for bit: those cases
// assert exact equality. Shapes include batch 1, odd channel counts, out-channel counts
// crossing the 64-row tile (65, 70), strides 2 and 3 (backward-data's divisibility path),
// R != S, 1x1 filters, padding wider than the filter's half, strides larger than the filter
// (input rows and columns no window reads: backward-data must write them as 0), and a
// 16x32x32x32 output whose v1 grid-stride loops run more than one pass. Random-float cases
// use atol = 1e-3, rtol = 1e-4: backward-weight sums up to N*P*Q = 16384 terms of size <= 1.
// Every output is guarded against writes past its end (tests/cuda/cuda_test.h).
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/conv2d.h"
#include "kernels/cuda/versions.h"
#include "runtime/error.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/cuda/cuda_test.h"

namespace cudp {
namespace {

using test::all_close;
using test::all_identical;

Conv2dShape shape(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                  int64_t stride, int64_t padding) {
  Conv2dShape s;
  s.N = N, s.C = C, s.H = H, s.W = W, s.K = K, s.R = R, s.S = S;
  s.stride = stride, s.padding = padding;
  return s;
}

std::string describe(const Conv2dShape& s) {
  return "N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) + " H=" + std::to_string(s.H) +
         " W=" + std::to_string(s.W) + " K=" + std::to_string(s.K) + " R=" + std::to_string(s.R) +
         " S=" + std::to_string(s.S) + " stride=" + std::to_string(s.stride) +
         " pad=" + std::to_string(s.padding);
}

// The last three: strides larger than the filter, with rows and columns that no window reads.
const Conv2dShape kShapes[] = {
    shape(1, 1, 1, 1, 1, 1, 1, 1, 0),
    shape(1, 3, 5, 5, 1, 3, 3, 1, 1),
    shape(2, 3, 7, 9, 5, 3, 3, 1, 1),
    shape(1, 5, 8, 8, 7, 3, 3, 2, 1),
    shape(3, 4, 9, 7, 6, 5, 5, 2, 2),
    shape(2, 7, 11, 11, 65, 3, 3, 1, 0),
    shape(1, 64, 8, 8, 70, 3, 3, 1, 1),
    shape(2, 3, 32, 32, 64, 5, 5, 1, 2),
    shape(1, 2, 6, 6, 3, 1, 1, 1, 0),
    shape(4, 16, 16, 16, 16, 3, 3, 3, 1),
    shape(1, 1, 10, 1, 2, 3, 1, 1, 1),
    shape(2, 65, 5, 5, 3, 2, 4, 1, 2),
    shape(5, 17, 13, 13, 33, 3, 3, 2, 0),
    shape(8, 8, 16, 16, 8, 3, 3, 1, 1),
    shape(4, 64, 32, 32, 64, 3, 3, 1, 1),
    shape(1, 3, 4, 4, 2, 3, 3, 1, 3),
    shape(16, 1, 3, 3, 1, 3, 3, 1, 0),
    shape(3, 2, 12, 10, 4, 4, 2, 2, 1),
    shape(2, 3, 9, 9, 4, 1, 1, 2, 0),
    shape(1, 2, 10, 10, 3, 2, 2, 3, 1),
    shape(2, 2, 8, 8, 3, 3, 3, 2, 0),
    // v3's 64 x 256 x 8 tiles: K = 129 rows (three row tiles, the last holding one), N*P*Q =
    // 2*13*13 = 338 columns (past one 256 tile), C*R*S = 27 (not a multiple of 8), odd sizes
    // (no float4 stores); then stride 2 with C = 67 rows for backward-data and H*W = 400
    // columns per image, and an even P*Q (float4 stores) with K*R*S depths crossing tiles.
    shape(2, 3, 13, 13, 129, 3, 3, 1, 1),
    shape(3, 67, 20, 20, 9, 3, 3, 2, 1),
    shape(2, 5, 18, 18, 66, 3, 3, 1, 1),
};

class CudaConv2d : public test::CudaTest {
 protected:
  void check(const Conv2dShape& s, bool exact) {
    const uint64_t seed = static_cast<uint64_t>(s.x_size() * 31 + s.w_size());
    auto data = [&](int64_t n, uint64_t salt) {
      return exact ? test::random_small_ints(n, seed + salt) : test::random_floats(n, seed + salt);
    };
    const auto x = data(s.x_size(), 1), w = data(s.w_size(), 2), dy = data(s.y_size(), 3);
    std::vector<float> y_ref(s.y_size()), dx_ref(s.x_size()), dw_ref(s.w_size());
    cpu::conv2d_forward(cpu, s, x.data(), w.data(), y_ref.data());
    cpu::conv2d_backward_data(cpu, s, dy.data(), w.data(), dx_ref.data());
    cpu::conv2d_backward_weight(cpu, s, x.data(), dy.data(), dw_ref.data());
    const double atol = exact ? 0.0 : 1e-3, rtol = exact ? 0.0 : 1e-4;

    const auto d_x = upload(x), d_w = upload(w), d_dy = upload(dy);
    for (int v = 1; v <= cuda::conv2d_versions(); ++v) {
      const std::string what = "v" + std::to_string(v) + " " + describe(s);
      SCOPED_TRACE(what);
      auto y = poisoned<float>(s.y_size());
      cuda::conv2d_forward_version(v, gpu, s, d_x.data(), d_w.data(), y.data());
      ASSERT_TRUE(all_close(download(y), y_ref, atol, rtol, "forward " + what));
      auto dx = poisoned<float>(s.x_size());
      cuda::conv2d_backward_data_version(v, gpu, s, d_dy.data(), d_w.data(), dx.data());
      ASSERT_TRUE(all_close(download(dx), dx_ref, atol, rtol, "backward_data " + what));
      auto dw = poisoned<float>(s.w_size());
      cuda::conv2d_backward_weight_version(v, gpu, s, d_x.data(), d_dy.data(), dw.data());
      ASSERT_TRUE(all_close(download(dw), dw_ref, atol, rtol, "backward_weight " + what));
    }
  }
};

TEST_F(CudaConv2d, ExactOnSmallIntegers) {
  for (const Conv2dShape& s : kShapes) check(s, true);
}

// Six of kShapes (odd sizes, stride 2, K past one tile, C = 64, and two crossing v3's tiles:
// three row tiles, split-K): the shapes that tools/gpu_check.sh runs under racecheck, which
// is about 40x slower than a plain run.
TEST_F(CudaConv2d, FewShapesExact) {
  for (const Conv2dShape& s :
       {kShapes[2], kShapes[4], kShapes[5], kShapes[6], kShapes[21], kShapes[22]})
    check(s, true);
}

TEST_F(CudaConv2d, RandomFloatsWithinTolerance) {
  for (const Conv2dShape& s : kShapes) check(s, false);
}

// y = 524288 elements: v1's one-thread-per-output loops take more than one grid-stride pass
// (~270k threads on an H100). Kept out of kShapes, whose exact test runs under racecheck.
TEST_F(CudaConv2d, SeveralGridStridePasses) {
  const Conv2dShape s = shape(16, 8, 32, 32, 32, 3, 3, 1, 1);
  check(s, true);
  check(s, false);
}

// Backward-weight with a long N*P*Q depth splits it over the grid; the partial sums are added
// in a fixed order, so two runs agree bit for bit. The same for the other passes.
TEST_F(CudaConv2d, DeterministicRunToRun) {
  const Conv2dShape s = shape(16, 32, 32, 32, 32, 3, 3, 1, 1);
  const auto x = test::random_floats(s.x_size(), 21), w = test::random_floats(s.w_size(), 22);
  const auto dy = test::random_floats(s.y_size(), 23);
  const auto d_x = upload(x), d_w = upload(w), d_dy = upload(dy);
  for (int v = 1; v <= cuda::conv2d_versions(); ++v) {
    const std::string what = "v" + std::to_string(v);
    std::vector<float> runs[2][3];
    for (auto& run : runs) {
      auto y = poisoned<float>(s.y_size()), dx = poisoned<float>(s.x_size());
      auto dw = poisoned<float>(s.w_size());
      cuda::conv2d_forward_version(v, gpu, s, d_x.data(), d_w.data(), y.data());
      cuda::conv2d_backward_data_version(v, gpu, s, d_dy.data(), d_w.data(), dx.data());
      cuda::conv2d_backward_weight_version(v, gpu, s, d_x.data(), d_dy.data(), dw.data());
      run[0] = download(y), run[1] = download(dx), run[2] = download(dw);
    }
    EXPECT_TRUE(all_identical(runs[0][0], runs[1][0], "forward " + what));
    EXPECT_TRUE(all_identical(runs[0][1], runs[1][1], "backward_data " + what));
    EXPECT_TRUE(all_identical(runs[0][2], runs[1][2], "backward_weight " + what));
  }
}

TEST_F(CudaConv2d, PublicOpsMatchTheCpu) {
  const Conv2dShape s = shape(2, 3, 9, 9, 5, 3, 3, 1, 1);
  const auto x = test::random_small_ints(s.x_size(), 7), w = test::random_small_ints(s.w_size(), 8);
  const auto dy = test::random_small_ints(s.y_size(), 9);
  std::vector<float> y_ref(s.y_size()), dx_ref(s.x_size()), dw_ref(s.w_size());
  cpu::conv2d_forward(cpu, s, x.data(), w.data(), y_ref.data());
  cpu::conv2d_backward_data(cpu, s, dy.data(), w.data(), dx_ref.data());
  cpu::conv2d_backward_weight(cpu, s, x.data(), dy.data(), dw_ref.data());
  const auto d_x = upload(x), d_w = upload(w), d_dy = upload(dy);
  auto y = poisoned<float>(s.y_size()), dx = poisoned<float>(s.x_size());
  auto dw = poisoned<float>(s.w_size());
  conv2d_forward(gpu, s, d_x.data(), d_w.data(), y.data());
  conv2d_backward_data(gpu, s, d_dy.data(), d_w.data(), dx.data());
  conv2d_backward_weight(gpu, s, d_x.data(), d_dy.data(), dw.data());
  EXPECT_TRUE(all_close(download(y), y_ref, 0.0, 0.0, "forward"));
  EXPECT_TRUE(all_close(download(dx), dx_ref, 0.0, 0.0, "backward_data"));
  EXPECT_TRUE(all_close(download(dw), dw_ref, 0.0, 0.0, "backward_weight"));
}

TEST_F(CudaConv2d, BadShapeThrows) {
  Conv2dShape s = shape(1, 1, 2, 2, 1, 3, 3, 1, 0);  // filter larger than the input
  EXPECT_THROW(cuda::conv2d_forward_version(2, gpu, s, nullptr, nullptr, nullptr), Error);
  s = shape(1, 1, 4, 4, 1, 3, 3, 1, 0);
  const int missing = cuda::conv2d_versions() + 1;
  EXPECT_THROW(cuda::conv2d_forward_version(missing, gpu, s, nullptr, nullptr, nullptr), Error);
}

// Every tensor holds fewer than 2^31 elements, but the implicit GEMMs' columns (forward) and
// depth (backward-weight) are N*P*Q = 2147483600: the tile arithmetic would overflow int32, so
// v2, v3 and tf32 v1 refuse before launching anything (no memory is touched: null pointers are fine).
TEST_F(CudaConv2d, ImplicitGemmRefusesExtentsNearInt32Max) {
  const Conv2dShape s = shape(1, 1, 1, 2147483600, 1, 1, 1, 1, 0);
  ASSERT_LT(s.x_size(), int64_t{0x7fffffff});
  ASSERT_LT(s.y_size(), int64_t{0x7fffffff});
  for (int v : {2, 3}) {
    SCOPED_TRACE("v" + std::to_string(v));
    EXPECT_THROW(cuda::conv2d_forward_version(v, gpu, s, nullptr, nullptr, nullptr), Error);
    EXPECT_THROW(cuda::conv2d_backward_data_version(v, gpu, s, nullptr, nullptr, nullptr), Error);
    EXPECT_THROW(cuda::conv2d_backward_weight_version(v, gpu, s, nullptr, nullptr, nullptr), Error);
  }
  // The tf32 kernel shares the check (kernels/cuda/conv2d_igemm.cuh).
  EXPECT_THROW(cuda::conv2d_forward_tf32_version(1, gpu, s, nullptr, nullptr, nullptr), Error);
  EXPECT_THROW(cuda::conv2d_backward_weight_tf32_version(1, gpu, s, nullptr, nullptr, nullptr),
               Error);
}

}  // namespace
}  // namespace cudp
