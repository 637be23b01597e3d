// TF32 rounding, as the tensor-core kernels do it and as their CPU twins emulate it.
//
// TF32 keeps FP32's sign and 8-bit exponent and the top 10 of its 23 mantissa bits.
// round_tf32 is PTX cvt.rna.tf32.f32: round to nearest, ties away from zero, the result
// an FP32 value whose low 13 bits are zero. Fed raw FP32 bits, mma.sync would truncate
// instead, which is why every tf32 kernel rounds its operands itself.
//
// The error model the tests derive their tolerances from (tf32_sum_bound):
//  - a rounded operand is within 2^-11 of the original, relatively;
//  - the product of two TF32 values (11 x 11 significant bits) is exact in FP32;
//  - a tensor core adds the K products in some order of its own, and may truncate rather
//    than round: each add, and each alignment of a smaller product to the largest within
//    one mma (at most 7 of 8), loses less than 2^-23 of the running magnitude, itself at
//    most sum |a_i * b_i|; with one add per product and per split that is under
//    K * 2^-23 * sum |a_i * b_i| away from the exact sum;
//  - the CPU twin sums the same products in FP32 with rounding: K * 2^-24 * sum away;
//  - alpha and beta cost two more roundings of the result.
// So the GPU and the CPU twin differ by at most 1.5 * (K + 2) * 2^-23 * sum |a_i * b_i|,
// the sum taken over the rounded operands and |beta * C| included.
#pragma once

#include <cstdint>
#include <cstring>

namespace cudp {

inline float round_tf32(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  if ((u & 0x7f800000u) != 0x7f800000u) {  // finite: infinities and NaN pass unchanged
    u += 0x1000u;                          // half of the 13 dropped bits: ties go away from 0
    u &= ~0x1fffu;
  }
  std::memcpy(&v, &u, sizeof v);
  return v;
}

// Copies `n` values of `src` to `dst`, each rounded with round_tf32.
inline void round_tf32(const float* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = round_tf32(src[i]);
}

// The bound above on |tensor-core result - CPU twin result| for one output of depth K
// whose rounded products (and |beta * C|) have absolute values summing to abs_sum.
inline double tf32_sum_bound(int64_t K, double abs_sum) {
  return 1.5 * static_cast<double>(K + 2) * 0x1p-23 * abs_sum;
}

}  // namespace cudp
