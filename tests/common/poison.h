// Test data: seeded random vectors and NaN poisoning.
//
// Outputs are poisoned with NaN before a kernel runs, so an element the kernel
// forgot to write fails the comparison. Small-integer data (values in
// [-range, range]) make GEMM and conv results exact in float32 when the sums
// stay below 2^24.
#pragma once

#include <cstdint>
#include <vector>

namespace cudp::test {

std::vector<float> random_floats(int64_t n, uint64_t seed, float low = -1.0f, float high = 1.0f);
std::vector<float> random_small_ints(int64_t n, uint64_t seed, int range = 3);
std::vector<double> to_double(const std::vector<float>& v);
std::vector<float> nan_filled(int64_t n);

}  // namespace cudp::test
