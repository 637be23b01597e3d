// Every numbered version of the CUDA kernels, for tests and benchmarks.
//
// The public ops (kernels/<op>.h) run the default version of each; these entry
// points take the version number first (1 .. <op>_versions()) and otherwise
// the op's own signature. Version lists, one line each, open each .cu file.
// A version number out of range throws cudp::Error. Plain C++: no CUDA header.
#pragma once

#include <cstdint>

#include "kernels/conv2d.h"
#include "kernels/cross_entropy.h"
#include "kernels/gemm.h"
#include "kernels/maxpool.h"
#include "kernels/relu.h"
#include "kernels/sgd.h"

namespace cudp::cuda {

int gemm_versions();
int gemm_default_version();
void gemm_version(int version, const Context& ctx, GemmLayout layout, int64_t M, int64_t N,
                  int64_t K, float alpha, const float* A, const float* B, float beta, float* C);

// The tf32 math mode (runtime/math.h) has its own numbering and default: ctx.math == tf32
// makes the public ops run these (gemm_tf32.cu, conv2d_tf32.cu).
int gemm_tf32_versions();
int gemm_tf32_default_version();
void gemm_tf32_version(int version, const Context& ctx, GemmLayout layout, int64_t M, int64_t N,
                       int64_t K, float alpha, const float* A, const float* B, float beta,
                       float* C);

// One numbering for the three conv2d passes: v1 direct, v2 implicit GEMM, v3 implicit GEMM
// on 64 x 256 tiles with a cp.async pipeline (conv2d_v3.cu; not the default until measured).
int conv2d_versions();
int conv2d_default_version();
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

}  // namespace cudp::cuda
