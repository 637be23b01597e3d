// The card's arithmetic peak, from its SM count and SM clock: the ceiling that
// bench_kernels_cuda's pct_peak counter reads each GEMM and conv row against.
// Plain C++ (no CUDA): the arithmetic is unit-tested on the CPU (tests/bench/).
//
//   peak GFLOP/s = SMs x flop per SM per clock x clock (GHz)
//
// Flop per SM per clock (an FMA counts as 2 flops):
//   sm_90 (H100, H200)  FP32: 128 lanes x 2 = 256    dense TF32: 1024 FMA x 2 = 2048
//   sm_80 (A100)        FP32:  64 lanes x 2 = 128    dense TF32:  512 FMA x 2 = 1024
// Against NVIDIA's published H100 SXM figures (132 SMs): 132 x 256 x 1.980 GHz
// = 66.9 TFLOP/s FP32 and 132 x 2048 x 1.830 GHz = 494.7 TFLOP/s dense TF32;
// A100 SXM (108 SMs, 1.410 GHz): 19.5 FP32 and 156 TF32.
//
// The decisions a reader would get wrong:
// - the clock is the card's MAX SM clock (cudaDevAttrClockRate, kHz; CUDA 13
//   removed cudaDeviceProp::clockRate) for both maths, because that is what the
//   runtime reports. NVIDIA's TF32 figure assumes 1830 MHz, so on an H100 at
//   1980 MHz our TF32 ceiling is 535.3 TFLOP/s, 8% above the published one:
//   a TF32 percentage here errs low, never high;
// - a row is TF32 when its benchmark key contains "tf32" (gemm_tf32_NN/...,
//   conv2d_tf32_forward/...), FP32 otherwise;
// - an architecture missing from the table has no peak (0): no percentage is
//   printed rather than a wrong one.
#pragma once

#include <string>

namespace cudp::bench {

enum class PeakMath { Fp32, Tf32 };

inline PeakMath peak_math_of(const std::string& key) {
  return key.find("tf32") != std::string::npos ? PeakMath::Tf32 : PeakMath::Fp32;
}

inline const char* peak_math_name(PeakMath math) {
  return math == PeakMath::Tf32 ? "tf32" : "fp32";
}

// Flop per SM per clock for compute capability major.minor; 0 when unknown.
inline double flop_per_sm_clock(int major, int minor, PeakMath math) {
  if (major == 9 && minor == 0) return math == PeakMath::Tf32 ? 2048.0 : 256.0;
  if (major == 8 && minor == 0) return math == PeakMath::Tf32 ? 1024.0 : 128.0;
  return 0.0;
}

// The peak in GFLOP/s of `sms` SMs at `clock_khz`; 0 when the architecture is unknown.
inline double peak_gflops(int sms, double clock_khz, int major, int minor, PeakMath math) {
  return sms * flop_per_sm_clock(major, minor, math) * clock_khz * 1e-6;
}

// gflops as a percentage of peak; 0 when there is no peak.
inline double percent_of_peak(double gflops, double peak) {
  return peak > 0 ? 100.0 * gflops / peak : 0.0;
}

}  // namespace cudp::bench
