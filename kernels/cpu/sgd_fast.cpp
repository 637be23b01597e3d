// CPU SGD step v2 (elementwise_versions.h): v1's update on 8 lanes and ctx.threads shares.
//
// Layout: params, grads, momentum_buffer: n contiguous floats. v2 runs v1's
// update on 8 lanes (AVX2) with the options tested once per call, not once per
// element, and cuts the range into ctx.threads shares of whole 64-element
// chunks; the n % 8 tail of each share goes through v1 itself.
//
// The decision a reader would get wrong: the roundings are v1's, one per
// multiply and one per add, in PyTorch's order (kernels/sgd.h). This file is
// compiled with -ffp-contract=off like sgd.cpp (kernels/CMakeLists.txt);
// otherwise g++ may fuse the _mm256_mul_ps / _mm256_add_ps pairs below into
// FMAs (they are plain vector arithmetic to the optimizer), and v2 would drift
// from v1 and the CUDA twin in the last bit (SgdRoundsEachOperationSeparately
// fails then). Negation flips the sign bit, as the scalar unary minus.
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/elementwise_versions.h"
#include "runtime/thread_pool.h"

namespace cudp::cpu {
namespace {

constexpr int64_t kChunk = 64;
constexpr double kMinElementsPerThread = 32768;

void sgd_range(int64_t n, float* params, const float* grads, float* momentum_buffer,
               const SgdOptions& o, bool first_step) {
  const bool use_momentum = o.momentum != 0.0f, decay = o.weight_decay != 0.0f;
  const __m256 lr = _mm256_set1_ps(o.lr), momentum = _mm256_set1_ps(o.momentum);
  const __m256 keep = _mm256_set1_ps(1.0f - o.dampening), wd = _mm256_set1_ps(o.weight_decay);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = _mm256_loadu_ps(grads + i);
    if (o.maximize) g = _mm256_xor_ps(g, sign);
    const __m256 p = _mm256_loadu_ps(params + i);
    if (decay) g = _mm256_add_ps(g, _mm256_mul_ps(wd, p));
    if (use_momentum) {
      const __m256 buf =
          first_step ? g
                     : _mm256_add_ps(_mm256_mul_ps(momentum, _mm256_loadu_ps(momentum_buffer + i)),
                                     _mm256_mul_ps(keep, g));
      _mm256_storeu_ps(momentum_buffer + i, buf);
      g = o.nesterov ? _mm256_add_ps(g, _mm256_mul_ps(momentum, buf)) : buf;
    }
    _mm256_storeu_ps(params + i, _mm256_sub_ps(p, _mm256_mul_ps(lr, g)));
  }
  if (i < n)
    sgd_step_v1(cpu_context(), n - i, params + i, grads + i,
                use_momentum ? momentum_buffer + i : nullptr, o, first_step);
}

}  // namespace

void sgd_step_v2(const Context& ctx, int64_t n, float* params, const float* grads,
                 float* momentum_buffer, const SgdOptions& options, bool first_step) {
  CUDP_ASSERT(options.momentum == 0.0f || momentum_buffer != nullptr);
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const int threads =
      threads_for(ctx.threads, static_cast<double>(n), kMinElementsPerThread, chunks);
  parallel_run(threads, [&](int t) {
    const Range r = split_range(chunks, threads, t);
    const int64_t begin = r.begin * kChunk, end = std::min(n, r.end * kChunk);
    if (begin >= end) return;
    sgd_range(end - begin, params + begin, grads + begin,
              momentum_buffer ? momentum_buffer + begin : nullptr, options, first_step);
  });
}

}  // namespace cudp::cpu
