// CUDA ReLU, bias, axpy/scale and SGD against their CPU twins (kernels/relu.h, bias.h,
// axpy.h, sgd.h; kernels/cuda/relu.cu, bias.cu, axpy.cu, sgd.cu).
//
// Sizes 1, 3, 5, 4099 leave an n % 4 tail after the float4 loop; a pointer shifted by one
// float forces the scalar path; (1 << 22) + 3 walks every grid-stride loop several times
// (the grids cap at a few blocks per multiprocessor, ~270k threads on an H100). ReLU,
// bias_add, axpy/scale and SGD must match bit for bit (NaN and -0 included): axpy and SGD
// use unfused multiply and add on the GPU (__fmul_rn / __fadd_rn) and the CPU twins are
// compiled with -ffp-contract=off (kernels/CMakeLists.txt), so both sides make the same
// IEEE roundings in PyTorch's order. bias_grad sums in double in another order than the
// CPU: rtol = 1e-6, exact on small integers. Every output is guarded (tests/cuda/cuda_test.h).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/axpy.h"
#include "kernels/bias.h"
#include "kernels/finite.h"
#include "kernels/cuda/versions.h"
#include "kernels/relu.h"
#include "kernels/sgd.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/cuda/cuda_test.h"

namespace cudp {
namespace {

using test::all_close;
using test::all_identical;

const int64_t kLarge = (int64_t{1} << 22) + 3;  // several grid-stride passes
const int64_t kSizes[] = {1, 3, 4, 5, 1000, 4099, 65536 + 7, kLarge};
const std::size_t kOffsets[] = {0, 1};

// Random values in [-1, 1] with NaN, -0, +0 and infinities sprinkled in.
std::vector<float> with_specials(int64_t n, uint64_t seed) {
  auto v = test::random_floats(n, seed);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), -0.0f, 0.0f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()};
  for (int64_t i = 0; i < n; i += 7) v[i] = specials[(i / 7) % 5];
  return v;
}

// Small integers in [-range, range] without 0, so that an add the kernel skips shows.
std::vector<float> nonzero_small_ints(int64_t n, uint64_t seed, int range = 3) {
  auto v = test::random_small_ints(n, seed, range);
  for (float& x : v)
    if (x == 0.0f) x = static_cast<float>(range + 1);
  return v;
}

struct SgdCase {
  float momentum, dampening, weight_decay;
  bool nesterov, maximize;
};

SgdOptions sgd_options(const SgdCase& c) {
  SgdOptions o;
  o.lr = 0.05f, o.momentum = c.momentum, o.dampening = c.dampening;
  o.weight_decay = c.weight_decay, o.nesterov = c.nesterov, o.maximize = c.maximize;
  return o;
}

class CudaElementwise : public test::CudaTest {
 protected:
  // One step of version v on n elements at `offset`, compared bit for bit with the CPU twin.
  // Without momentum the GPU is still handed a buffer on later steps (nullptr on the first),
  // which it must leave untouched.
  void check_sgd(int v, const SgdCase& c, bool first, int64_t n, std::size_t offset) {
    const SgdOptions opt = sgd_options(c);
    const std::string what =
        "v" + std::to_string(v) + " momentum=" + std::to_string(c.momentum) +
        " dampening=" + std::to_string(c.dampening) + " wd=" + std::to_string(c.weight_decay) +
        " nesterov=" + std::to_string(c.nesterov) + " maximize=" + std::to_string(c.maximize) +
        " first=" + std::to_string(first) + " n=" + std::to_string(n) +
        " offset=" + std::to_string(offset);
    SCOPED_TRACE(what);
    const auto p0 = test::random_floats(n, 9), g = test::random_floats(n, 10);
    // On the first step the buffer must not be read: it starts as NaN.
    const auto buf0 = first ? test::nan_filled(n) : test::random_floats(n, 11);
    std::vector<float> p_ref = p0, buf_ref = buf0;
    const bool momentum = c.momentum != 0.0f;
    cpu::sgd_step(cpu, n, p_ref.data(), g.data(), momentum ? buf_ref.data() : nullptr, opt, first);
    auto p = upload_output(p0, offset), buf = upload_output(buf0, offset);
    const auto d_g = upload(g, offset);
    const bool pass_buffer = momentum || !first;
    cuda::sgd_step_version(v, gpu, n, p.data() + offset, d_g.data() + offset,
                           pass_buffer ? buf.data() + offset : nullptr, opt, first);
    EXPECT_TRUE(all_identical(download(p, offset), p_ref, "params " + what));
    if (momentum) {
      EXPECT_TRUE(all_identical(download(buf, offset), buf_ref, "buffer " + what));
    } else if (pass_buffer) {  // no momentum: the buffer it was given is never touched
      EXPECT_TRUE(all_identical(download(buf, offset), buf0, "untouched buffer " + what));
    }
  }
};

TEST_F(CudaElementwise, ReluForwardBackwardBitwise) {
  for (int v = 1; v <= cuda::relu_versions(); ++v)
    for (int64_t n : kSizes)
      for (std::size_t off : kOffsets) {
        const std::string what =
            "v" + std::to_string(v) + " n=" + std::to_string(n) + " offset=" + std::to_string(off);
        SCOPED_TRACE(what);
        const auto x = with_specials(n, n), dy = test::random_floats(n, n + 1);
        std::vector<float> y_ref(n), dx_ref(n);
        cpu::relu_forward(cpu, n, x.data(), y_ref.data());
        cpu::relu_backward(cpu, n, y_ref.data(), dy.data(), dx_ref.data());

        const auto d_x = upload(x, off), d_dy = upload(dy, off), d_yref = upload(y_ref, off);
        auto y = poisoned<float>(n, off), dx = poisoned<float>(n, off);
        cuda::relu_forward_version(v, gpu, n, d_x.data() + off, y.data() + off);
        cuda::relu_backward_version(v, gpu, n, d_yref.data() + off, d_dy.data() + off,
                                    dx.data() + off);
        EXPECT_TRUE(all_identical(download(y, off), y_ref, "relu_forward " + what));
        EXPECT_TRUE(all_identical(download(dx, off), dx_ref, "relu_backward " + what));

        // In place: y aliases x, dx aliases dy.
        auto xy = upload_output(x, off), g = upload_output(dy, off);
        cuda::relu_forward_version(v, gpu, n, xy.data() + off, xy.data() + off);
        cuda::relu_backward_version(v, gpu, n, d_yref.data() + off, g.data() + off, g.data() + off);
        EXPECT_TRUE(all_identical(download(xy, off), y_ref, "relu_forward in place " + what));
        EXPECT_TRUE(all_identical(download(g, off), dx_ref, "relu_backward in place " + what));
      }
}

TEST_F(CudaElementwise, PublicReluMatches) {
  const int64_t n = 1001;
  const auto x = with_specials(n, 3);
  std::vector<float> ref(n);
  cpu::relu_forward(cpu, n, x.data(), ref.data());
  const auto d_x = upload(x);
  auto y = poisoned<float>(n);
  relu_forward(gpu, n, d_x.data(), y.data());
  EXPECT_TRUE(all_identical(download(y), ref, "public relu_forward"));
}

TEST_F(CudaElementwise, BiasAddBitwiseAndBiasGrad) {
  struct Case {
    int64_t N, K, inner;
  };
  // The last case has 2M elements: bias_add's grid-stride loop takes several passes.
  const Case cases[] = {{1, 1, 1},    {32, 512, 1},  {3, 7, 5},    {2, 64, 1024}, {5, 3, 130},
                        {128, 10, 1}, {2, 3, 4},     {7, 5, 128},  {1, 9, 300},   {4, 6, 0},
                        {0, 6, 3},    {33, 17, 129}, {8, 64, 4096}};
  for (const Case& c : cases)
    for (bool ints : {true, false}) {
      const std::string what = "N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) +
                               " inner=" + std::to_string(c.inner) + (ints ? " ints" : "");
      SCOPED_TRACE(what);
      const int64_t total = c.N * c.K * c.inner;
      const auto y0 = ints ? nonzero_small_ints(total, 1) : test::random_floats(total, 1);
      const auto b = ints ? nonzero_small_ints(c.K, 2) : test::random_floats(c.K, 2);
      std::vector<float> y_ref = y0, db_ref(c.K);
      cpu::bias_add(cpu, c.N, c.K, c.inner, b.data(), y_ref.data());
      cpu::bias_grad(cpu, c.N, c.K, c.inner, y0.data(), db_ref.data());

      auto y = upload_output(y0);
      const auto d_b = upload(b);
      bias_add(gpu, c.N, c.K, c.inner, d_b.data(), y.data());
      EXPECT_TRUE(all_identical(download(y), y_ref, "bias_add " + what));

      const auto dy = upload(y0);
      auto db1 = poisoned<float>(c.K), db2 = poisoned<float>(c.K);
      bias_grad(gpu, c.N, c.K, c.inner, dy.data(), db1.data());
      bias_grad(gpu, c.N, c.K, c.inner, dy.data(), db2.data());
      const auto g1 = download(db1);
      EXPECT_TRUE(all_close(g1, db_ref, ints ? 0.0 : 1e-6, ints ? 0.0 : 1e-6, "bias_grad " + what));
      EXPECT_TRUE(all_identical(g1, download(db2), "bias_grad run to run " + what));
    }
}

TEST_F(CudaElementwise, BiasAddMisalignedOutput) {
  const int64_t N = 3, K = 5, inner = 8, total = N * K * inner;
  const auto y0 = test::random_floats(total, 4), b = test::random_floats(K, 5);
  std::vector<float> ref = y0;
  cpu::bias_add(cpu, N, K, inner, b.data(), ref.data());
  auto y = upload_output(y0, 1);
  const auto d_b = upload(b);
  bias_add(gpu, N, K, inner, d_b.data(), y.data() + 1);
  EXPECT_TRUE(all_identical(download(y, 1), ref, "bias_add offset 1"));
}

TEST_F(CudaElementwise, AxpyAndScale) {
  for (int64_t n : kSizes)
    for (std::size_t off : kOffsets)
      for (float alpha : {1.0f, -0.37f, 0.0f}) {
        const std::string what = "n=" + std::to_string(n) + " offset=" + std::to_string(off) +
                                 " alpha=" + std::to_string(alpha);
        SCOPED_TRACE(what);
        const auto x = test::random_floats(n, 7), y0 = test::random_floats(n, 8);
        std::vector<float> y_ref = y0, x_ref = x;
        cpu::axpy(cpu, n, alpha, x.data(), y_ref.data());
        cpu::scale(cpu, n, alpha, x_ref.data());
        const auto d_x = upload(x, off);
        auto y = upload_output(y0, off), xs = upload_output(x, off);
        axpy(gpu, n, alpha, d_x.data() + off, y.data() + off);
        scale(gpu, n, alpha, xs.data() + off);
        EXPECT_TRUE(all_identical(download(y, off), y_ref, "axpy " + what));
        EXPECT_TRUE(all_identical(download(xs, off), x_ref, "scale " + what));
      }
}

const SgdCase kSgdCases[] = {{0.0f, 0.0f, 0.0f, false, false},  {0.0f, 0.0f, 0.01f, false, true},
                             {0.9f, 0.0f, 0.0f, false, false},  {0.9f, 0.1f, 0.01f, false, false},
                             {0.9f, 0.0f, 0.001f, true, false}, {0.5f, 0.0f, 0.0f, true, true}};

TEST_F(CudaElementwise, SgdEveryOptionVersionAndTail) {
  for (int v = 1; v <= cuda::sgd_versions(); ++v)
    for (const SgdCase& c : kSgdCases)
      for (bool first : {true, false})
        for (int64_t n : {int64_t{1}, int64_t{5}, int64_t{1024}, int64_t{4099}})
          for (std::size_t off : kOffsets) check_sgd(v, c, first, n, off);
}

// The example that split the backends by one ulp while the CPU twins were fused into FMAs:
// p - lr * g and y + alpha * x round the product first, as PyTorch, on both backends.
TEST_F(CudaElementwise, SgdAndAxpyRoundTheProductFirst) {
  const uint32_t p_bits = 0xbecc62e7u, g_bits = 0xbe7b935cu;
  float p0 = 0.0f, g = 0.0f;
  std::memcpy(&p0, &p_bits, sizeof(p0));
  std::memcpy(&g, &g_bits, sizeof(g));
  const SgdOptions opt = sgd_options({0.0f, 0.0f, 0.0f, false, false});
  // volatile: this file may be compiled with FMA contraction, the expectation may not be.
  volatile float sgd_product = opt.lr * g, axpy_product = opt.lr * g;
  const std::vector<float> sgd_expected = {p0 - sgd_product}, axpy_expected = {p0 + axpy_product};
  std::vector<float> p_ref = {p0}, y_ref = {p0};
  cpu::sgd_step(cpu, 1, p_ref.data(), &g, nullptr, opt, true);
  cpu::axpy(cpu, 1, opt.lr, &g, y_ref.data());
  EXPECT_TRUE(all_identical(p_ref, sgd_expected, "CPU sgd_step (fused by the compiler?)"));
  EXPECT_TRUE(all_identical(y_ref, axpy_expected, "CPU axpy (fused by the compiler?)"));
  const auto d_g = upload(std::vector<float>{g});
  for (int v = 1; v <= cuda::sgd_versions(); ++v) {
    auto p = upload_output(std::vector<float>{p0});
    cuda::sgd_step_version(v, gpu, 1, p.data(), d_g.data(), nullptr, opt, true);
    EXPECT_TRUE(all_identical(download(p), sgd_expected, "sgd_step v" + std::to_string(v)));
  }
  auto y = upload_output(std::vector<float>{p0});
  axpy(gpu, 1, opt.lr, d_g.data(), y.data());
  EXPECT_TRUE(all_identical(download(y), axpy_expected, "axpy"));
}

// (1 << 22) + 3 elements: v1 and v2's grid-stride loops run several passes, at both offsets.
TEST_F(CudaElementwise, SgdLargeBufferEveryVersion) {
  for (int v = 1; v <= cuda::sgd_versions(); ++v)
    for (const SgdCase& c : {kSgdCases[1], kSgdCases[3]})
      for (std::size_t off : kOffsets) check_sgd(v, c, false, kLarge, off);
}

TEST_F(CudaElementwise, PublicSgdStep) {
  const int64_t n = 777;
  SgdOptions opt;
  opt.lr = 0.1f, opt.momentum = 0.9f;
  const auto p0 = test::random_floats(n, 12), g = test::random_floats(n, 13);
  std::vector<float> p_ref = p0, buf_ref(n);
  cpu::sgd_step(cpu, n, p_ref.data(), g.data(), buf_ref.data(), opt, true);
  auto p = upload_output(p0);
  auto buf = poisoned<float>(n);
  const auto d_g = upload(g);
  sgd_step(gpu, n, p.data(), d_g.data(), buf.data(), opt, true);
  EXPECT_TRUE(all_identical(download(p), p_ref, "public sgd_step"));
  EXPECT_TRUE(all_identical(download(buf), buf_ref, "public sgd_step buffer"));
}

// The trainers' forms (graph replays read them from device memory): sgd_step_from gives
// the CPU twin's bits with lr and the first-step flag from SgdStepScalars, every version and
// offset; skip leaves params and buffer untouched; scale_by is scale; mark_not_finite flags
// NaN, inf and 0 * inf and never clears. Unverified on silicon until a GPU report shows it.
TEST_F(CudaElementwise, StepScalarsFromDeviceMemory) {
  const int64_t n = 777;
  SgdOptions opt;
  opt.momentum = 0.9f, opt.weight_decay = 0.01f;
  for (int v = 1; v <= cuda::sgd_versions(); ++v) {
    for (std::size_t off : kOffsets) {
      const auto p0 = test::random_floats(n, 14), g = test::random_floats(n, 15);
      std::vector<float> p_ref = p0, buf_ref(n);
      auto p = upload_output(p0, off);
      auto buf = poisoned<float>(n, off);
      const auto d_g = upload(g, off);
      for (int step = 0; step < 2; ++step) {
        SgdOptions now = opt;
        now.lr = step == 0 ? 0.1f : 0.01f;
        cpu::sgd_step(cpu, n, p_ref.data(), g.data(), buf_ref.data(), now, step == 0);
        SgdStepScalars s;
        s.lr = now.lr;
        s.first_step = step == 0;
        const auto d_s = upload(std::vector<SgdStepScalars>{s});
        SgdOptions stale = opt;
        stale.lr = 99.0f;  // ignored
        cuda::sgd_step_from_version(v, gpu, n, p.data() + off, d_g.data() + off, buf.data() + off,
                                    stale, d_s.data());
      }
      const std::string where = "sgd_step_from v" + std::to_string(v) + " offset " +
                                std::to_string(off);
      EXPECT_TRUE(all_identical(download(p, off), p_ref, where));
      EXPECT_TRUE(all_identical(download(buf, off), buf_ref, where + " buffer"));
      SgdStepScalars skip;
      skip.lr = 1.0f, skip.skip = 1;
      const auto d_skip = upload(std::vector<SgdStepScalars>{skip});
      const auto nan_g = upload(test::nan_filled(n));
      cuda::sgd_step_from_version(v, gpu, n, p.data() + off, nan_g.data(), buf.data() + off, opt,
                                  d_skip.data());
      EXPECT_TRUE(all_identical(download(p, off), p_ref, where + " skipped"));
      EXPECT_TRUE(all_identical(download(buf, off), buf_ref, where + " skipped buffer"));
    }
  }
  auto x = test::random_floats(n, 16), x_ref = x;
  const float alpha = 1.0f / 9.0f;
  cpu::scale(cpu, n, alpha, x_ref.data());
  auto d_x = upload(x);
  const auto d_alpha = upload(std::vector<float>{alpha});
  scale_by(gpu, n, d_alpha.data(), d_x.data());
  EXPECT_TRUE(all_identical(download(d_x), x_ref, "scale_by"));
  const float inf = std::numeric_limits<float>::infinity();
  const auto values = upload(std::vector<float>{1.0f, 0.0f, 2.0f});
  const auto bad = upload(std::vector<float>{1.0f, std::nanf(""), 2.0f});
  const auto weight = upload(std::vector<float>{0.5f}), infinite = upload(std::vector<float>{inf});
  auto flag = upload(std::vector<int32_t>{0});
  mark_not_finite(gpu, 3, values.data(), weight.data(), flag.data());
  EXPECT_EQ(download(flag)[0], 0);
  mark_not_finite(gpu, 3, values.data(), infinite.data(), flag.data());  // 0 * inf
  EXPECT_EQ(download(flag)[0], 1);
  flag = upload(std::vector<int32_t>{0});
  mark_not_finite(gpu, 3, bad.data(), nullptr, flag.data());
  EXPECT_EQ(download(flag)[0], 1);
  mark_not_finite(gpu, 3, values.data(), nullptr, flag.data());  // never cleared
  EXPECT_EQ(download(flag)[0], 1);
}

}  // namespace
}  // namespace cudp
