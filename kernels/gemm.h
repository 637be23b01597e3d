// GEMM, row-major: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C[M,N].
//
// Layouts (all matrices contiguous, row-major, no leading dimensions):
//   NN: A is [M,K], B is [K,N]      (Linear backward-data: dX = dY * W)
//   NT: A is [M,K], B is [N,K]      (Linear forward: Y = X * W^T)
//   TN: A is [K,M], B is [K,N]      (Linear backward-weight: dW = dY^T * X)
// beta == 0 means C is not read (NaN or garbage in C does not leak), as in BLAS.
// Any M, N, K >= 0; K == 0 gives C = beta * C.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace cudp {

enum class GemmLayout { NN, NT, TN };
const char* gemm_layout_name(GemmLayout layout);

CUDP_DECLARE_OP(gemm, GemmLayout layout, int64_t M, int64_t N, int64_t K, float alpha,
                const float* A, const float* B, float beta, float* C)

inline void gemm(const Context& ctx, GemmLayout layout, int64_t M, int64_t N, int64_t K,
                 float alpha, const float* A, const float* B, float beta, float* C) {
  CUDP_DISPATCH(ctx, gemm, layout, M, N, K, alpha, A, B, beta, C);
}

}  // namespace cudp
