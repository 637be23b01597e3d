// TF32 rounding, as the tensor-core kernels do it and as their CPU twins emulate it.
//
// TF32 keeps FP32's sign and 8-bit exponent and the top 10 of its 23 mantissa bits.
// round_tf32 is PTX cvt.rna.tf32.f32: round to nearest, ties away from zero, the result
// an FP32 value whose low 13 bits are zero. Fed raw FP32 bits, mma.sync would truncate
// instead, which is why every tf32 kernel rounds its operands itself.
//
// The error model the tests derive their tolerances from (tf32_sum_bound):
//  - a rounded operand is within 2^-11 of the original, relatively;
//  - the product of two TF32 values (11 x 11 significant bits) is exact in FP32 (barring
//    underflow to subnormals);
//  - a tensor core adds each block of 8 products to the accumulator as one fused step that
//    may truncate rather than round: the accumulator and the 8 products are aligned to the
//    largest of the 9 (each alignment losing less than 2^-23 of it) and the sum is truncated
//    once more, so at most 9 lossy steps per 8 products (1.125 per product; 1.25 were the
//    blocks 4 deep), each under 2^-23 of the running magnitude, itself at most
//    sum |a_i * b_i| because truncation never grows a term; a split-K sum adds one FP32 add
//    per split;
//  - the CPU twin sums the same products in FP32 with rounding: under K * 2^-24 * sum;
//  - alpha and beta cost a few more roundings on each side.
// So the GPU and the CPU twin differ by less than 2 * (K + 2) * 2^-23 * sum |a_i * b_i|,
// the sum taken over the rounded operands and |beta * C| included. Cancellation cannot
// break it: the bound is relative to the sum of magnitudes, not to the result.
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
  return 2.0 * static_cast<double>(K + 2) * 0x1p-23 * abs_sum;
}

}  // namespace cudp
