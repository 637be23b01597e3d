// Bias add and bias gradient over a [N, K, inner] tensor.
//
// Conv2d's output [N,K,P,Q] is inner = P*Q; Linear's [N,K] is inner = 1.
//   bias_add:  y[n,k,i] += b[k]
//   bias_grad: db[k] = sum_{n,i} dy[n,k,i]     (overwrites db)
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace cudp {

CUDP_DECLARE_OP(bias_add, int64_t N, int64_t K, int64_t inner, const float* b, float* y)
CUDP_DECLARE_OP(bias_grad, int64_t N, int64_t K, int64_t inner, const float* dy, float* db)

inline void bias_add(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* b,
                     float* y) {
  CUDP_DISPATCH(ctx, bias_add, N, K, inner, b, y);
}
inline void bias_grad(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* dy,
                      float* db) {
  CUDP_DISPATCH(ctx, bias_grad, N, K, inner, dy, db);
}

}  // namespace cudp
