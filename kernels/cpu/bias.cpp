// CPU bias add and bias gradient over a [N, K, inner] tensor (kernels/bias.h).
//
// Versions (kernels/cpu/elementwise_versions.h): v1, the plain loops here, one
// thread; v2 (elementwise_fast.cpp) runs them on ctx.threads shares (of
// samples, of channels), so both give the same bits. The public ops, at the
// end, run v2.
//
// Layout: conv2d's output [N,K,P,Q] is inner = P*Q; Linear's [N,K] is inner = 1.
// The decision a reader would get wrong: bias_grad OVERWRITES db (it is the
// whole of zero_grad + backward for the bias), and it sums in double: a conv
// bias gathers N*P*Q terms (32 * 1024 for the default model), enough for a
// float running sum to lose digits that the CUDA twin is then compared against.
#include "kernels/cpu/elementwise_versions.h"

namespace cudp::cpu {
namespace {

// Sum of n floats in double, in 8 lanes so that g++ vectorizes it without -ffast-math.
double sum_in_double(const float* x, int64_t n) {
  double lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += x[i + l];
  double total = 0.0;
  for (; i < n; ++i) total += x[i];
  for (int l = 0; l < 8; ++l) total += lanes[l];
  return total;
}

}  // namespace

void bias_add_v1(const Context& /*ctx*/, int64_t N, int64_t K, int64_t inner, const float* b,
                 float* y) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      float* row = y + (n * K + k) * inner;  // the inner elements of channel k, sample n
      const float bias = b[k];
      for (int64_t i = 0; i < inner; ++i) row[i] += bias;
    }
}

void bias_grad_channels(int64_t N, int64_t K, int64_t inner, const float* dy, float* db,
                        int64_t k_begin, int64_t k_end) {
  for (int64_t k = k_begin; k < k_end; ++k) {
    double total = 0.0;
    for (int64_t n = 0; n < N; ++n) total += sum_in_double(dy + (n * K + k) * inner, inner);
    db[k] = static_cast<float>(total);
  }
}

void bias_grad_v1(const Context& /*ctx*/, int64_t N, int64_t K, int64_t inner, const float* dy,
                  float* db) {
  bias_grad_channels(N, K, inner, dy, db, 0, K);
}

void bias_add(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* b, float* y) {
  bias_add_v2(ctx, N, K, inner, b, y);
}
void bias_grad(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* dy,
               float* db) {
  bias_grad_v2(ctx, N, K, inner, dy, db);
}

}  // namespace cudp::cpu
