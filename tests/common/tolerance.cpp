// See tolerance.h.
#include "tests/common/tolerance.h"

#include <cmath>
#include <cstring>
#include <sstream>

namespace cudp::test {

::testing::AssertionResult all_close(const float* actual, const double* expected, int64_t n,
                                     double atol, double rtol, const std::string& what) {
  int64_t failures = 0;
  double worst = 0.0;
  int64_t worst_index = -1;
  std::ostringstream first;
  for (int64_t i = 0; i < n; ++i) {
    const double a = actual[i], e = expected[i];
    const double err = std::fabs(a - e);
    const bool ok = (std::isnan(a) || std::isnan(e)) ? false : err <= atol + rtol * std::fabs(e);
    if (!ok) {
      if (failures < 5) first << "\n  [" << i << "] actual " << a << " expected " << e;
      ++failures;
    }
    if (std::isnan(err) || err > worst) {
      worst = std::isnan(err) ? NAN : err;
      worst_index = i;
      if (std::isnan(err)) break;
    }
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << (what.empty() ? "" : what + ": ") << failures << " of " << n
         << " elements outside atol " << atol << " + rtol " << rtol << "; largest error "
         << worst << " at [" << worst_index << "]" << first.str();
}

::testing::AssertionResult all_close(const std::vector<float>& actual,
                                     const std::vector<double>& expected, double atol,
                                     double rtol, const std::string& what) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << what << ": sizes differ, " << actual.size()
                                         << " vs " << expected.size();
  return all_close(actual.data(), expected.data(), static_cast<int64_t>(actual.size()), atol,
                   rtol, what);
}

::testing::AssertionResult all_close(const std::vector<float>& actual,
                                     const std::vector<float>& expected, double atol,
                                     double rtol, const std::string& what) {
  std::vector<double> e(expected.begin(), expected.end());
  return all_close(actual, e, atol, rtol, what);
}

::testing::AssertionResult all_identical(const std::vector<float>& a, const std::vector<float>& b,
                                         const std::string& what) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << what << ": sizes differ, " << a.size() << " vs "
                                         << b.size();
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << what << ": first difference at [" << i << "]: "
                                           << a[i] << " vs " << b[i];
  }
  return ::testing::AssertionSuccess();
}

}  // namespace cudp::test
