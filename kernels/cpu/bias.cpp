// CPU bias add and bias gradient over a [N, K, inner] tensor (kernels/bias.h).
//
// Versions (bias_*_version, kernels/cpu/versions.h; the public ops run the default, v2):
//   v1: the plain loops, one thread
//   v2: v1's loops on ctx.threads fixed shares: bias_add over samples n (each
//       [K, inner] block is independent), bias_grad over channels k (each db[k] is
//       one whole double sum, as in v1); small calls stay on one thread (threads_for)
// A share is never cut out of a sum and the add is one IEEE operation, so v2
// gives v1's bits for every thread count.
//
// Layout: conv2d's output [N,K,P,Q] is inner = P*Q; Linear's [N,K] is inner = 1.
// The decision a reader would get wrong: bias_grad OVERWRITES db (it is the
// whole of zero_grad + backward for the bias), and it sums in double: a conv
// bias gathers N*P*Q terms (32 * 1024 for the default model), enough for a
// float running sum to lose digits that the CUDA twin is then compared against.
#include "kernels/cpu/versions.h"
#include "runtime/thread_pool.h"

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

// ---------------------------------------------------------------- v1: plain loops

void bias_add_v1(int64_t N, int64_t K, int64_t inner, const float* b, float* y) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      float* row = y + (n * K + k) * inner;  // the inner elements of channel k, sample n
      const float bias = b[k];
      for (int64_t i = 0; i < inner; ++i) row[i] += bias;
    }
}

// v1's bias gradient for channels [k_begin, k_end) only: v2 hands channels to threads.
void bias_grad_channels(int64_t N, int64_t K, int64_t inner, const float* dy, float* db,
                        int64_t k_begin, int64_t k_end) {
  for (int64_t k = k_begin; k < k_end; ++k) {
    double total = 0.0;
    for (int64_t n = 0; n < N; ++n) total += sum_in_double(dy + (n * K + k) * inner, inner);
    db[k] = static_cast<float>(total);
  }
}

void bias_grad_v1(int64_t N, int64_t K, int64_t inner, const float* dy, float* db) {
  bias_grad_channels(N, K, inner, dy, db, 0, K);
}

// ---------------------------------------------------------------- v2: v1 on thread shares

constexpr double kMinElementsPerThread = 32768;  // 128 KiB of floats

void bias_add_v2(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* b,
                 float* y) {
  const int threads =
      threads_for(ctx.threads, static_cast<double>(N * K * inner), kMinElementsPerThread, N);
  parallel_run(threads, [&](int t) {
    const Range r = split_range(N, threads, t);
    bias_add_v1(r.end - r.begin, K, inner, b, y + r.begin * K * inner);
  });
}

void bias_grad_v2(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* dy,
                  float* db) {
  const int threads =
      threads_for(ctx.threads, static_cast<double>(N * K * inner), kMinElementsPerThread, K);
  parallel_run(threads, [&](int t) {
    const Range r = split_range(K, threads, t);
    bias_grad_channels(N, K, inner, dy, db, r.begin, r.end);
  });
}

}  // namespace

// ---------------------------------------------------------------- dispatch

int bias_versions() { return 2; }
int bias_default_version() { return 2; }

void bias_add_version(int version, const Context& ctx, int64_t N, int64_t K, int64_t inner,
                      const float* b, float* y) {
  check_version("bias_add", version, bias_versions());
  if (version == 1) return bias_add_v1(N, K, inner, b, y);
  bias_add_v2(ctx, N, K, inner, b, y);
}

void bias_grad_version(int version, const Context& ctx, int64_t N, int64_t K, int64_t inner,
                       const float* dy, float* db) {
  check_version("bias_grad", version, bias_versions());
  if (version == 1) return bias_grad_v1(N, K, inner, dy, db);
  bias_grad_v2(ctx, N, K, inner, dy, db);
}

void bias_add(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* b, float* y) {
  bias_add_version(bias_default_version(), ctx, N, K, inner, b, y);
}
void bias_grad(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* dy,
               float* db) {
  bias_grad_version(bias_default_version(), ctx, N, K, inner, dy, db);
}

}  // namespace cudp::cpu
