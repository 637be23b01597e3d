// The arithmetic a matrix op may use: the library's form of --math.
//
//   fp32  every product and sum in IEEE single precision (the default, as PyTorch's
//         matmul precision "highest" with allow_tf32 off);
//   tf32  GEMM and convolution round each operand to TF32 (8-bit exponent, 10-bit
//         mantissa; round to nearest, ties away from zero, as cvt.rna.tf32.f32) and
//         accumulate in FP32: tensor cores on a GPU, the same rounding emulated on a CPU.
// Ops other than GEMM and convolution compute in FP32 under either mode. Each mode has
// its own numbered kernel versions and its own default (kernels/*/versions.h), so tf32
// never becomes the default math by being faster.
#pragma once

#include <string>

namespace cudp {

enum class Math { fp32, tf32 };

const char* math_name(Math math);  // "fp32", "tf32"
// Throws cudp::Error naming `where` and the accepted names unless `name` is one of them.
Math parse_math(const std::string& name, const char* where);

}  // namespace cudp
