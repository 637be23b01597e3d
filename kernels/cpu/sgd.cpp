// CPU SGD step over one flat parameter buffer: torch.optim.SGD's update (kernels/sgd.h).
//
// Versions (sgd_step_version, kernels/cpu/versions.h; the public op runs the default, v2):
//   v1: the plain loop, one thread
//   v2: v1's update on 8 lanes (AVX2), the options tested once per call, not once
//       per element, on ctx.threads shares of whole 64-element chunks; the n % 8
//       tail of each share goes through v1 itself
// Layout: params, grads and momentum_buffer are n contiguous floats each.
// The decisions a reader would get wrong:
//  - the order of operations is PyTorch's and is kept exactly (maximize, then
//    weight decay, then momentum, then nesterov, then p = p - lr * g). On the
//    first step the buffer is a copy of g (no dampening), as PyTorch clones the
//    gradient when it finds no buffer;
//  - every multiply and every add rounds on its own: this file is compiled with
//    -ffp-contract=off (kernels/CMakeLists.txt), because g++ would otherwise fuse
//    `g + wd * p` into one FMA in some places and not in others. Unfused, the
//    CPU twin, its vectorized v2 and the CUDA kernel (__fmul_rn / __fadd_rn)
//    agree bit for bit (tests/kernels/elementwise_versions_test.cpp checks it).
//    Without the flag g++ may also fuse v2's _mm256_mul_ps / _mm256_add_ps pairs into FMAs
//    too (they are plain vector arithmetic to the optimizer), and v2 would drift
//    from v1 and the CUDA twin in the last bit (SgdRoundsEachOperationSeparately
//    fails then). Negation flips the sign bit, as the scalar unary minus.
// Options are assumed checked (check_sgd_options, in kernels/shapes.cpp).
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/versions.h"
#include "runtime/thread_pool.h"

namespace cudp::cpu {
namespace {

// ---------------------------------------------------------------- v1: the plain loop

void sgd_step_v1(int64_t n, float* params, const float* grads, float* momentum_buffer,
                 const SgdOptions& o, bool first_step) {
  const bool use_momentum = o.momentum != 0.0f;
  CUDP_ASSERT(!use_momentum || momentum_buffer != nullptr);
  for (int64_t i = 0; i < n; ++i) {
    float g = o.maximize ? -grads[i] : grads[i];
    if (o.weight_decay != 0.0f) g = g + o.weight_decay * params[i];
    if (use_momentum) {
      float& buf = momentum_buffer[i];
      buf = first_step ? g : o.momentum * buf + (1.0f - o.dampening) * g;
      g = o.nesterov ? g + o.momentum * buf : buf;
    }
    params[i] = params[i] - o.lr * g;
  }
}

// ---------------------------------------------------------------- v2: 8 lanes, threads

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
    sgd_step_v1(n - i, params + i, grads + i, use_momentum ? momentum_buffer + i : nullptr, o,
                first_step);
}

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

}  // namespace

// ---------------------------------------------------------------- dispatch

int sgd_versions() { return 2; }
int sgd_default_version() { return 2; }

void sgd_step_version(int version, const Context& ctx, int64_t n, float* params, const float* grads,
                      float* momentum_buffer, const SgdOptions& options, bool first_step) {
  check_version("sgd_step", version, sgd_versions());
  if (version == 1) return sgd_step_v1(n, params, grads, momentum_buffer, options, first_step);
  sgd_step_v2(ctx, n, params, grads, momentum_buffer, options, first_step);
}

// The scalars are read here, when the op runs on the device's stream worker: the
// same update as the by-value form, so both give the same bits.
void sgd_step_from_version(int version, const Context& ctx, int64_t n, float* params,
                           const float* grads, float* momentum_buffer, const SgdOptions& options,
                           const SgdStepScalars* scalars) {
  check_version("sgd_step", version, sgd_versions());
  CUDP_ASSERT(scalars != nullptr);
  if (scalars->skip != 0) return;
  SgdOptions now = options;
  now.lr = scalars->lr;
  sgd_step_version(version, ctx, n, params, grads, momentum_buffer, now, scalars->first_step != 0);
}

void sgd_step_from(const Context& ctx, int64_t n, float* params, const float* grads,
                   float* momentum_buffer, const SgdOptions& options,
                   const SgdStepScalars* scalars) {
  sgd_step_from_version(sgd_default_version(), ctx, n, params, grads, momentum_buffer, options,
                        scalars);
}

void sgd_step(const Context& ctx, int64_t n, float* params, const float* grads,
              float* momentum_buffer, const SgdOptions& options, bool first_step) {
  sgd_step_version(sgd_default_version(), ctx, n, params, grads, momentum_buffer, options,
                   first_step);
}

}  // namespace cudp::cpu
