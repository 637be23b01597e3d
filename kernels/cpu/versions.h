// Every numbered version of the CPU kernels, for tests, benchmarks and kernel labs.
//
// The convention of kernels/cuda/versions.h, on the CPU: the public ops
// (kernels/<op>.h) run <op>_default_version(); these entry points take the
// version number first (1 .. <op>_versions()) and otherwise the op's own
// signature. A benchmark's label v:<N> is this N (docs/kernels.md).
//
//   gemm           v1 plain 4x16 tiles, one thread; v2 packed panels + AVX2 6x16
//                  micro-kernel; v3 v2's driver with an AVX-512 8x32 micro-kernel
//   conv2d         v1 im2col + GEMM v1, one thread; v2 row-copy im2col + v2's packed
//                  GEMM, threads; v3 the same on v3's micro-kernel
//   relu, bias     v1 plain loops, one thread; v2 v1's loops on ctx.threads shares
//   maxpool2d      v1 plain, one thread; v2 threads, AVX2 for the 2x2 stride-2 window
//   sgd            v1 plain, one thread; v2 8 lanes (AVX2) on ctx.threads shares
//   cross_entropy  v1 only (one thread: the loss is a few thousand exps)
//   gemm_tf32, conv2d_tf32  (the tf32 math mode, runtime/math.h; kernels/cpu/tf32.cpp)
//                  v1 operands rounded to TF32, then the FP32 default version
// Defaults: gemm and conv2d v3 where AVX-512F is active (see gemm_packed.h), else
// v2; relu, bias, maxpool2d, sgd v2; cross_entropy v1. axpy and scale have one
// plain loop each and no version entry points.
//
// The decision a reader would get wrong: the numbers are the same on every
// machine. v3 needs AVX-512F; where the CPU lacks it, <op>_version_available(3)
// is false and calling v3 throws cudp::Error, as does a number out of range.
// Versions of one op agree bit for bit where their files say so (v2 == v3
// always; every elementwise v2 == v1), and within rounding otherwise.
#pragma once

#include <cstdint>

#include "kernels/bias.h"
#include "kernels/conv2d.h"
#include "kernels/cross_entropy.h"
#include "kernels/gemm.h"
#include "kernels/maxpool.h"
#include "kernels/relu.h"
#include "kernels/sgd.h"

namespace cudp::cpu {

int gemm_versions();
int gemm_default_version();
bool gemm_version_available(int version);
void gemm_version(int version, const Context& ctx, GemmLayout layout, int64_t M, int64_t N,
                  int64_t K, float alpha, const float* A, const float* B, float beta, float* C);

// One numbering for the three conv2d passes.
// The tf32 math mode's versions (ctx.math == Math::tf32 runs the default one).
int gemm_tf32_versions();
int gemm_tf32_default_version();
void gemm_tf32_version(int version, const Context& ctx, GemmLayout layout, int64_t M, int64_t N,
                       int64_t K, float alpha, const float* A, const float* B, float beta,
                       float* C);

int conv2d_versions();
int conv2d_default_version();
bool conv2d_version_available(int version);
void conv2d_forward_version(int version, const Context& ctx, const Conv2dShape& s, const float* x,
                            const float* w, float* y);
void conv2d_backward_data_version(int version, const Context& ctx, const Conv2dShape& s,
                                  const float* dy, const float* w, float* dx);
void conv2d_backward_weight_version(int version, const Context& ctx, const Conv2dShape& s,
                                    const float* x, const float* dy, float* dw);

int conv2d_tf32_versions();
int conv2d_tf32_default_version();
void conv2d_forward_tf32_version(int version, const Context& ctx, const Conv2dShape& s,
                                 const float* x, const float* w, float* y);
void conv2d_backward_data_tf32_version(int version, const Context& ctx, const Conv2dShape& s,
                                       const float* dy, const float* w, float* dx);
void conv2d_backward_weight_tf32_version(int version, const Context& ctx, const Conv2dShape& s,
                                         const float* x, const float* dy, float* dw);

int relu_versions();
int relu_default_version();
void relu_forward_version(int version, const Context& ctx, int64_t n, const float* x, float* y);
void relu_backward_version(int version, const Context& ctx, int64_t n, const float* y,
                           const float* dy, float* dx);

int bias_versions();
int bias_default_version();
void bias_add_version(int version, const Context& ctx, int64_t N, int64_t K, int64_t inner,
                      const float* b, float* y);
void bias_grad_version(int version, const Context& ctx, int64_t N, int64_t K, int64_t inner,
                       const float* dy, float* db);

int maxpool2d_versions();
int maxpool2d_default_version();
void maxpool2d_forward_version(int version, const Context& ctx, const MaxPool2dShape& s,
                               const float* x, float* y, int32_t* argmax);
void maxpool2d_backward_version(int version, const Context& ctx, const MaxPool2dShape& s,
                                const float* dy, const int32_t* argmax, float* dx);

int cross_entropy_versions();
int cross_entropy_default_version();
void cross_entropy_version(int version, const Context& ctx, int64_t N, int64_t classes,
                           const float* logits, const int32_t* targets,
                           const CrossEntropyOptions& options, float* loss, float* dlogits,
                           int32_t* first_bad_row);

int sgd_versions();
int sgd_default_version();
void sgd_step_version(int version, const Context& ctx, int64_t n, float* params, const float* grads,
                      float* momentum_buffer, const SgdOptions& options, bool first_step);
// The same version reading lr, first_step and skip from `scalars` (device memory) when it runs.
void sgd_step_from_version(int version, const Context& ctx, int64_t n, float* params,
                           const float* grads, float* momentum_buffer, const SgdOptions& options,
                           const SgdStepScalars* scalars);

// Throws cudp::Error naming `op` unless 1 <= version <= versions (shared by the dispatchers).
void check_version(const char* op, int version, int versions);

}  // namespace cudp::cpu
