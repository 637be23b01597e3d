// The one tolerance helper of the test suites.
//
// expect_close(actual, expected, atol, rtol) passes when every element has
// |actual - expected| <= atol + rtol * |expected| (NaN never passes unless
// both are NaN and allow_nan is set). On failure it prints how many elements
// failed, the first few with their index, and the largest error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cudp::test {

::testing::AssertionResult all_close(const float* actual, const double* expected, int64_t n,
                                     double atol, double rtol, const std::string& what = "");
::testing::AssertionResult all_close(const std::vector<float>& actual,
                                     const std::vector<double>& expected, double atol,
                                     double rtol, const std::string& what = "");
::testing::AssertionResult all_close(const std::vector<float>& actual,
                                     const std::vector<float>& expected, double atol,
                                     double rtol, const std::string& what = "");
// Bitwise equality of two float arrays (NaN payloads included).
::testing::AssertionResult all_identical(const std::vector<float>& a, const std::vector<float>& b,
                                         const std::string& what = "");

}  // namespace cudp::test
