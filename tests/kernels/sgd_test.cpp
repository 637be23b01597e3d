// Tests of the CPU SGD step (kernels/sgd.h) and check_sgd_options: three steps
// of torch.optim.SGD's update, worked by hand and in double, for plain SGD,
// momentum, dampening, nesterov, weight decay and maximize.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/versions.h"
#include "kernels/sgd.h"
#include "runtime/error.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"

namespace cudp {
namespace {

using test::all_close;

SgdOptions make_options(float lr, float momentum, float dampening, float weight_decay,
                        bool nesterov, bool maximize) {
  SgdOptions o;
  o.lr = lr;
  o.momentum = momentum;
  o.dampening = dampening;
  o.weight_decay = weight_decay;
  o.nesterov = nesterov;
  o.maximize = maximize;
  return o;
}

// One element, p = 1, g = 0.5 on every step, lr = 0.1, worked by hand from
// torch.optim.SGD's update (kernels/sgd.h):
//   plain:              p = 1 - 0.05 = 0.95, 0.90, 0.85
//   momentum 0.9:       step 1 buf = 0.5 (a copy of g), p = 0.95
//                       step 2 buf = 0.9*0.5 + 0.5 = 0.95, p = 0.95 - 0.095 = 0.855
//                       step 3 buf = 0.9*0.95 + 0.5 = 1.355, p = 0.855 - 0.1355 = 0.7195
//   + dampening 0.5:    step 1 buf = 0.5 (no dampening on the first step), p = 0.95
//                       step 2 buf = 0.45 + 0.25 = 0.7, p = 0.88
//                       step 3 buf = 0.63 + 0.25 = 0.88, p = 0.792
//   nesterov 0.9:       step 1 buf = 0.5, g = 0.5 + 0.45 = 0.95, p = 0.905
//                       step 2 buf = 0.95, g = 0.5 + 0.855 = 1.355, p = 0.7695
//                       step 3 buf = 1.355, g = 0.5 + 1.2195 = 1.7195, p = 0.59755
//   weight decay 0.1:   step 1 g = 0.5 + 0.1*1 = 0.6, p = 0.94
//                       step 2 g = 0.5 + 0.094 = 0.594, p = 0.8806
//                       step 3 g = 0.5 + 0.08806 = 0.58806, p = 0.821794
//   maximize:           p = 1.05, 1.10, 1.15
TEST(CpuSgd, HandComputedThreeSteps) {
  struct Case {
    const char* name;
    SgdOptions options;
    double p[3];
    double buf[3];  // unused (0) without momentum
  };
  const Case cases[] = {
      {"plain", make_options(0.1f, 0, 0, 0, false, false), {0.95, 0.90, 0.85}, {}},
      {"momentum",
       make_options(0.1f, 0.9f, 0, 0, false, false),
       {0.95, 0.855, 0.7195},
       {0.5, 0.95, 1.355}},
      {"dampening",
       make_options(0.1f, 0.9f, 0.5f, 0, false, false),
       {0.95, 0.88, 0.792},
       {0.5, 0.7, 0.88}},
      {"nesterov",
       make_options(0.1f, 0.9f, 0, 0, true, false),
       {0.905, 0.7695, 0.59755},
       {0.5, 0.95, 1.355}},
      {"weight_decay", make_options(0.1f, 0, 0, 0.1f, false, false), {0.94, 0.8806, 0.821794}, {}},
      {"maximize", make_options(0.1f, 0, 0, 0, false, true), {1.05, 1.10, 1.15}, {}},
  };
  const Context ctx = cpu_context();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    float p = 1.0f, buf = std::nanf("");  // the first step must not read the buffer
    const float g = 0.5f;
    const bool momentum = c.options.momentum != 0.0f;
    for (int step = 0; step < 3; ++step) {
      sgd_step(ctx, 1, &p, &g, momentum ? &buf : nullptr, c.options, step == 0);
      EXPECT_NEAR(p, c.p[step], 1e-6) << "step " << step + 1;
      if (momentum) {
        EXPECT_NEAR(buf, c.buf[step], 1e-6) << "step " << step + 1;
      }
    }
  }
}

// The same formula in double over 37 elements and three steps with new random
// gradients each step, for every option and some of their combinations.
// Float kernel vs double: atol 1e-6, rtol 1e-5 (a few roundings per step).
TEST(CpuSgd, MatchesDoubleFormulaOverThreeSteps) {
  const SgdOptions cases[] = {make_options(0.1f, 0, 0, 0, false, false),
                              make_options(0.05f, 0.9f, 0, 0, false, false),
                              make_options(0.05f, 0.9f, 0.3f, 0, false, false),
                              make_options(0.05f, 0.9f, 0, 0, true, false),
                              make_options(0.1f, 0, 0, 0.01f, false, false),
                              make_options(0.05f, 0.8f, 0.1f, 0.01f, false, true),
                              make_options(0.05f, 0.9f, 0, 0.02f, true, true),
                              make_options(0.0f, 0.9f, 0, 0, false, false)};
  const Context ctx = cpu_context();
  const int64_t n = 37;
  int index = 0;
  for (const SgdOptions& o : cases) {
    SCOPED_TRACE("case " + std::to_string(index++));
    auto p = test::random_floats(n, 1);
    std::vector<float> buf = test::nan_filled(n);
    std::vector<double> p_ref = test::to_double(p), buf_ref(static_cast<size_t>(n), 0.0);
    const bool momentum = o.momentum != 0.0f;
    for (int step = 0; step < 3; ++step) {
      const auto g = test::random_floats(n, 10 + step);
      for (int64_t i = 0; i < n; ++i) {
        double d = o.maximize ? -double(g[i]) : double(g[i]);
        if (o.weight_decay != 0.0f) d += double(o.weight_decay) * p_ref[i];
        if (momentum) {
          buf_ref[i] =
              step == 0 ? d : double(o.momentum) * buf_ref[i] + (1.0 - double(o.dampening)) * d;
          d = o.nesterov ? d + double(o.momentum) * buf_ref[i] : buf_ref[i];
        }
        p_ref[i] -= double(o.lr) * d;
      }
      sgd_step(ctx, n, p.data(), g.data(), momentum ? buf.data() : nullptr, o, step == 0);
      EXPECT_TRUE(all_close(p, p_ref, 1e-6, 1e-5, "params, step " + std::to_string(step + 1)));
      if (momentum) {
        EXPECT_TRUE(
            all_close(buf, buf_ref, 1e-6, 1e-5, "buffer, step " + std::to_string(step + 1)));
      }
    }
  }
}

std::string rejection(const SgdOptions& o) {
  try {
    check_sgd_options(o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CpuSgd, CheckOptionsRejectsWhatTorchRejects) {
  EXPECT_EQ(rejection(SgdOptions{}), "");
  EXPECT_EQ(rejection(make_options(0.0f, 0, 0, 0, false, false)), "");  // lr 0 is allowed
  EXPECT_EQ(rejection(make_options(0.1f, 0.9f, 0, 0, true, false)), "");
  EXPECT_EQ(rejection(make_options(0.1f, 0.9f, 0.5f, 0.1f, false, true)), "");

  const std::string lr = rejection(make_options(-0.1f, 0, 0, 0, false, false));
  EXPECT_NE(lr.find("lr = -0.1"), std::string::npos) << lr;
  const std::string momentum = rejection(make_options(0.1f, -0.5f, 0, 0, false, false));
  EXPECT_NE(momentum.find("momentum = -0.5"), std::string::npos) << momentum;
  const std::string decay = rejection(make_options(0.1f, 0, 0, -1.0f, false, false));
  EXPECT_NE(decay.find("weight_decay = -1"), std::string::npos) << decay;
  const std::string no_momentum = rejection(make_options(0.1f, 0, 0, 0, true, false));
  EXPECT_NE(no_momentum.find("nesterov"), std::string::npos) << no_momentum;
  EXPECT_NE(no_momentum.find("momentum = 0"), std::string::npos) << no_momentum;
  const std::string damped = rejection(make_options(0.1f, 0.9f, 0.1f, 0, true, false));
  EXPECT_NE(damped.find("dampening = 0.1"), std::string::npos) << damped;
  // Stricter than PyTorch: a NaN or infinite option would poison every parameter.
  const std::string nan_lr = rejection(make_options(std::nanf(""), 0, 0, 0, false, false));
  EXPECT_NE(nan_lr.find("lr must be finite"), std::string::npos) << nan_lr;
}


// sgd_step_from (the trainers' form): lr and the first-step flag read from the
// scalars when the op runs give the by-value form's bits, every version, every
// option set; skip leaves params and buffer untouched, bit for bit.
TEST(CpuSgd, ScalarsFromMemoryGiveTheByValueBits) {
  const int64_t n = 37;
  for (int v = 1; v <= cpu::sgd_versions(); ++v) {
    for (const bool nesterov : {false, true}) {
      SCOPED_TRACE(concat("v", v, nesterov ? " nesterov" : ""));
      SgdOptions o = make_options(0.03f, 0.9f, 0.0f, 0.01f, nesterov, false);
      auto p = test::random_floats(n, 4), q = p;
      std::vector<float> buf(n, 0.0f), qbuf(n, 0.0f);
      for (int step = 0; step < 3; ++step) {
        const auto g = test::random_floats(n, 20 + step);
        o.lr = step == 2 ? 0.003f : 0.03f;  // a milestone between steps
        cpu::sgd_step_version(v, cpu_context(), n, p.data(), g.data(), buf.data(), o, step == 0);
        SgdStepScalars s;
        s.lr = o.lr;
        s.first_step = step == 0;
        SgdOptions stale = o;
        stale.lr = 99.0f;  // ignored: the scalars' lr is the one
        cpu::sgd_step_from_version(v, cpu_context(), n, q.data(), g.data(), qbuf.data(), stale,
                                   &s);
        EXPECT_TRUE(test::all_identical(q, p, concat("params, step ", step + 1)));
        EXPECT_TRUE(test::all_identical(qbuf, buf, concat("buffer, step ", step + 1)));
      }
      SgdStepScalars skip;
      skip.lr = 1.0f;
      skip.skip = 1;
      const auto before = q, before_buf = qbuf;
      const std::vector<float> nan_grads = test::nan_filled(n);
      cpu::sgd_step_from_version(v, cpu_context(), n, q.data(), nan_grads.data(), qbuf.data(), o,
                                 &skip);
      EXPECT_TRUE(test::all_identical(q, before, "params after a skipped step"));
      EXPECT_TRUE(test::all_identical(qbuf, before_buf, "buffer after a skipped step"));
    }
  }
}

}  // namespace
}  // namespace cudp
