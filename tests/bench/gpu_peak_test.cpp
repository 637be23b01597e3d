// bench/gpu_peak.h's arithmetic against NVIDIA's published peaks, on the CPU:
// the pct_peak counter of bench_kernels_cuda is only as right as these numbers.
#include "bench/gpu_peak.h"

#include <gtest/gtest.h>

namespace cudp::bench {
namespace {

TEST(GpuPeak, H100SxmMatchesThePublishedFigures) {
  // 132 SMs; FP32 66.9 TFLOP/s at 1980 MHz, dense TF32 494.7 TFLOP/s at 1830 MHz.
  EXPECT_NEAR(peak_gflops(132, 1980000, 9, 0, PeakMath::Fp32), 66908.16, 0.01);
  EXPECT_NEAR(peak_gflops(132, 1830000, 9, 0, PeakMath::Tf32), 494714.88, 0.01);
  // At the max clock the runtime reports, TF32's ceiling is above the published one.
  EXPECT_NEAR(peak_gflops(132, 1980000, 9, 0, PeakMath::Tf32), 535265.28, 0.01);
}

TEST(GpuPeak, A100SxmMatchesThePublishedFigures) {
  // 108 SMs at 1410 MHz: FP32 19.5 TFLOP/s, dense TF32 156 TFLOP/s.
  EXPECT_NEAR(peak_gflops(108, 1410000, 8, 0, PeakMath::Fp32) * 1e-3, 19.5, 0.01);
  EXPECT_NEAR(peak_gflops(108, 1410000, 8, 0, PeakMath::Tf32) * 1e-3, 155.9, 0.1);
}

TEST(GpuPeak, UnknownArchitectureHasNoPeakAndNoPercentage) {
  EXPECT_EQ(peak_gflops(84, 2500000, 8, 9, PeakMath::Fp32), 0.0);
  EXPECT_EQ(percent_of_peak(1000.0, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(percent_of_peak(33454.08, 66908.16), 50.0);
}

TEST(GpuPeak, KeysContainingTf32ReadAgainstTheTf32Peak) {
  EXPECT_EQ(peak_math_of("BM_gemm_tf32_NN/v:1/4096x4096x4096"), PeakMath::Tf32);
  EXPECT_EQ(peak_math_of("BM_conv2d_tf32_backward_weight/v:2/N128_C64_32x32_K64_R3_pad1"),
            PeakMath::Tf32);
  EXPECT_EQ(peak_math_of("BM_gemm_NN/v:4/4096x4096x4096"), PeakMath::Fp32);
  EXPECT_EQ(peak_math_of("BM_conv2d_forward/v:2/N128_C64_32x32_K64_R3_pad1"), PeakMath::Fp32);
  EXPECT_STREQ(peak_math_name(PeakMath::Tf32), "tf32");
}

}  // namespace
}  // namespace cudp::bench
