// The CPU twins of the tf32 math mode (runtime/math.h): each operand rounded to TF32
// (kernels/tf32.h), then the FP32 kernel of the default version. This is the
// specification the tensor-core kernels are tested against; on a CPU it changes the
// numbers, not the speed.
//
// Versions (one numbering per math mode, kernels/cpu/versions.h):
//   gemm_tf32     v1: round copies of A and B, then the FP32 default GEMM
//   conv2d_tf32   v1: round copies of both operands of the pass, then the FP32 default
//                 conv2d pass (rounding a tensor rounds every product it enters)
#include <vector>

#include "kernels/cpu/versions.h"
#include "kernels/tf32.h"
#include "runtime/error.h"

namespace cudp::cpu {
namespace {

void check_tf32_version(const char* op, int version) {
  if (version != 1) fail(op, " (cpu): tf32 version ", version, " does not exist (1..1)");
}

std::vector<float> rounded(const float* p, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  if (n > 0) round_tf32(p, n, out.data());
  return out;
}

Context fp32_of(const Context& ctx) {
  Context c = ctx;
  c.math = Math::fp32;
  return c;
}

}  // namespace

int gemm_tf32_versions() { return 1; }
int gemm_tf32_default_version() { return 1; }

void gemm_tf32_version(int version, const Context& ctx, GemmLayout layout, int64_t M, int64_t N,
                       int64_t K, float alpha, const float* A, const float* B, float beta,
                       float* C) {
  check_tf32_version("gemm", version);
  if (M < 0 || N < 0 || K < 0)
    fail("gemm (cpu): sizes must be >= 0, found M = ", M, ", N = ", N, ", K = ", K);
  const auto a = rounded(A, M * K), b = rounded(B, K * N);
  gemm_version(gemm_default_version(), fp32_of(ctx), layout, M, N, K, alpha, a.data(), b.data(),
               beta, C);
}

int conv2d_tf32_versions() { return 1; }
int conv2d_tf32_default_version() { return 1; }

void conv2d_forward_tf32_version(int version, const Context& ctx, const Conv2dShape& s,
                                 const float* x, const float* w, float* y) {
  check_tf32_version("conv2d_forward", version);
  check_conv2d_shape(s, "conv2d_forward (cpu, tf32)");
  const auto rx = rounded(x, s.x_size()), rw = rounded(w, s.w_size());
  conv2d_forward_version(conv2d_default_version(), fp32_of(ctx), s, rx.data(), rw.data(), y);
}

void conv2d_backward_data_tf32_version(int version, const Context& ctx, const Conv2dShape& s,
                                       const float* dy, const float* w, float* dx) {
  check_tf32_version("conv2d_backward_data", version);
  check_conv2d_shape(s, "conv2d_backward_data (cpu, tf32)");
  const auto rdy = rounded(dy, s.y_size()), rw = rounded(w, s.w_size());
  conv2d_backward_data_version(conv2d_default_version(), fp32_of(ctx), s, rdy.data(), rw.data(),
                               dx);
}

void conv2d_backward_weight_tf32_version(int version, const Context& ctx, const Conv2dShape& s,
                                         const float* x, const float* dy, float* dw) {
  check_tf32_version("conv2d_backward_weight", version);
  check_conv2d_shape(s, "conv2d_backward_weight (cpu, tf32)");
  const auto rx = rounded(x, s.x_size()), rdy = rounded(dy, s.y_size());
  conv2d_backward_weight_version(conv2d_default_version(), fp32_of(ctx), s, rx.data(), rdy.data(),
                                 dw);
}

}  // namespace cudp::cpu
