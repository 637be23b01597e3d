// Real data: seed-pool on a 10,000-image subset of Fashion-MNIST (Debian's
// dataset-fashion-mnist, which .ci/run installs) for 2 epochs on one CPU
// device, with the --data fashion-mnist recipe (batch 64, lr 0.02, momentum
// 0.9, weight decay 5e-4), evaluated on the full 10,000-image test set: about
// 20 s here. The bar, 78%, is 4.5 points under the 82.5% this run measured on
// the development machine (another summation order, a GPU's, moves it a
// little; random guessing is 10%); the full default run reaches 92.6%.
#include <cstdlib>
#include <sstream>

#include <gtest/gtest.h>

#include "apps/cli.h"

namespace cudp {
namespace {

TEST(FashionMnist, TenThousandImageSubsetReachesTheBar) {
  std::ostringstream out, err;
  ASSERT_EQ(run_cli({"train", "--data", "fashion-mnist", "--train-size", "10000", "--epochs", "2",
                     "--devices", "cpu", "--log-every", "50"},
                    out, err),
            0)
      << err.str();
  const std::string text = out.str();
  std::cout << text;
  EXPECT_NE(text.find("10000 train, 10000 test"), std::string::npos) << text;
  const std::string key = "test accuracy ";
  const size_t at = text.rfind(key);
  ASSERT_NE(at, std::string::npos) << text;
  const double accuracy = std::strtod(text.c_str() + at + key.size(), nullptr);
  EXPECT_GE(accuracy, 78.0) << text;
}

}  // namespace
}  // namespace cudp
