// The README's first run: `cudp train` with no flags must reach >= 95% held-out
// accuracy on the synthetic set (the Foundation issue's bar).
#include <cstdlib>
#include <sstream>

#include <gtest/gtest.h>

#include "apps/cli.h"

namespace cudp {
namespace {

TEST(DefaultRun, ReachesTheHeldOutAccuracyBar) {
  std::ostringstream out, err;
  ASSERT_EQ(run_cli({"train"}, out, err), 0) << err.str();
  const std::string text = out.str();
  const std::string key = "held-out accuracy ";
  const size_t at = text.rfind(key);
  ASSERT_NE(at, std::string::npos) << text;
  const double accuracy = std::strtod(text.c_str() + at + key.size(), nullptr);
  std::cout << text;
  EXPECT_GE(accuracy, 95.0) << text;
}

}  // namespace
}  // namespace cudp
