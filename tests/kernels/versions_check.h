// Shared by the version tests (gemm_versions_test, conv2d_versions_test,
// elementwise_versions_test): the packed versions and ISAs to run, a scoped ISA
// switch, a per-element bound check and bitwise checks that print what they compared.
//
// The decision a reader would get wrong: v3 (the AVX-512 path) is only tested
// where the CPU has AVX-512F; elsewhere the tests that need it SKIP with that
// reason (never pass), and packed_versions() holds v2 alone, tested_isas() AVX2.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/gemm_packed.h"
#include "kernels/cpu/versions.h"

namespace cudp::test {

inline std::vector<cpu::CpuIsa> tested_isas() {
  std::vector<cpu::CpuIsa> isas = {cpu::CpuIsa::Avx2};
  if (cpu::cpu_has_avx512()) isas.push_back(cpu::CpuIsa::Avx512);
  return isas;
}

// The packed GEMM and conv2d versions that run here: 2, and 3 where AVX-512F is.
inline std::vector<int> packed_versions() {
  std::vector<int> versions = {2};
  if (cpu::gemm_version_available(3)) versions.push_back(3);
  return versions;
}

// Forces the ISA of the public cpu:: ops (so their default versions) for one scope.
class ScopedIsa {
 public:
  explicit ScopedIsa(cpu::CpuIsa isa) { cpu::force_cpu_isa(isa); }
  ~ScopedIsa() { cpu::unforce_cpu_isa(); }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;
};

// |actual[i] - expected[i]| <= bound[i] for every i; NaN fails unless both are NaN.
inline ::testing::AssertionResult within_bounds(const std::vector<float>& actual,
                                                const std::vector<float>& expected,
                                                const std::vector<double>& bound,
                                                const std::string& what) {
  if (actual.size() != expected.size() || actual.size() != bound.size())
    return ::testing::AssertionFailure() << what << ": sizes differ";
  int64_t failures = 0;
  double worst = 0, worst_bound = 0;
  std::ostringstream first;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i], err = std::fabs(a - e);
    const bool ok = (std::isnan(a) && std::isnan(e)) || err <= bound[i];
    if (ok) continue;
    if (failures < 5)
      first << "\n  [" << i << "] got " << a << " expected " << e << " bound " << bound[i];
    if (failures == 0 || err > worst || std::isnan(err)) worst = err, worst_bound = bound[i];
    ++failures;
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << failures << " of " << actual.size()
                                       << " elements outside their bound; largest error " << worst
                                       << " (bound " << worst_bound << ")" << first.str();
}

// Bitwise equality, with the first differing elements printed.
inline ::testing::AssertionResult same_bits(const std::vector<float>& a,
                                            const std::vector<float>& b, const std::string& what) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << what << ": sizes differ";
  int64_t failures = 0;
  std::ostringstream first;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) == 0) continue;
    if (failures < 5) first << "\n  [" << i << "] " << a[i] << " vs " << b[i];
    ++failures;
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << failures << " of " << a.size()
                                       << " elements differ bitwise" << first.str();
}

// Bitwise equality except that any NaN equals any NaN: for ops that compute with a
// NaN operand, where IEEE 754 leaves open which NaN (sign, payload) comes out, and
// the vector and scalar code g++ emits for the same expression may pick differently.
inline ::testing::AssertionResult same_values(const std::vector<float>& a,
                                              const std::vector<float>& b,
                                              const std::string& what) {
  std::vector<float> a_canonical = a, b_canonical = b;
  for (float& f : a_canonical)
    if (std::isnan(f)) f = std::numeric_limits<float>::quiet_NaN();
  for (float& f : b_canonical)
    if (std::isnan(f)) f = std::numeric_limits<float>::quiet_NaN();
  return same_bits(a_canonical, b_canonical, what);
}

}  // namespace cudp::test
