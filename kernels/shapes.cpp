// Non-op helpers declared in the kernel headers, shared by every backend: argument
// checks and gemm_layout_name.
//
// Each check throws cudp::Error naming where it was called from (a layer or an
// op), the field, and the value found, e.g.
//   "conv1: conv2d filter height R = 5 is larger than the padded input height
//    H + 2*padding = 4 (H = 4, padding = 0)".
// SGD options are refused exactly where torch.optim.SGD refuses them, plus
// non-finite values, which PyTorch lets through to poison every parameter.
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "kernels/maxpool.h"
#include "kernels/sgd.h"
#include "runtime/error.h"

namespace cudp {
namespace {

void require_positive(const char* where, const char* op, const char* field, int64_t value) {
  if (value <= 0) fail(where, ": ", op, " ", field, " must be positive, found ", value);
}

}  // namespace

const char* gemm_layout_name(GemmLayout layout) {
  switch (layout) {
    case GemmLayout::NN:
      return "NN";
    case GemmLayout::NT:
      return "NT";
    case GemmLayout::TN:
      return "TN";
  }
  return "unknown";
}

void check_conv2d_shape(const Conv2dShape& s, const char* where) {
  const char* op = "conv2d";
  require_positive(where, op, "batch size N", s.N);
  require_positive(where, op, "in-channels C", s.C);
  require_positive(where, op, "input height H", s.H);
  require_positive(where, op, "input width W", s.W);
  require_positive(where, op, "out-channels K", s.K);
  require_positive(where, op, "filter height R", s.R);
  require_positive(where, op, "filter width S", s.S);
  require_positive(where, op, "stride", s.stride);
  if (s.padding < 0) fail(where, ": conv2d padding must be >= 0, found ", s.padding);
  if (s.R > s.H + 2 * s.padding)
    fail(where, ": conv2d filter height R = ", s.R,
         " is larger than the padded input height H + 2*padding = ", s.H + 2 * s.padding,
         " (H = ", s.H, ", padding = ", s.padding, ")");
  if (s.S > s.W + 2 * s.padding)
    fail(where, ": conv2d filter width S = ", s.S,
         " is larger than the padded input width W + 2*padding = ", s.W + 2 * s.padding,
         " (W = ", s.W, ", padding = ", s.padding, ")");
}

void check_maxpool2d_shape(const MaxPool2dShape& s, const char* where) {
  const char* op = "maxpool2d";
  require_positive(where, op, "batch size N", s.N);
  require_positive(where, op, "channels C", s.C);
  require_positive(where, op, "input height H", s.H);
  require_positive(where, op, "input width W", s.W);
  require_positive(where, op, "kernel", s.kernel);
  require_positive(where, op, "stride", s.stride);
  if (s.kernel > s.H || s.kernel > s.W)
    fail(where, ": maxpool2d kernel = ", s.kernel, " is larger than the input plane ", s.H, "x",
         s.W, " (no padding)");
  // argmax is an int32 offset inside one H x W plane.
  if (s.H * s.W > std::numeric_limits<int32_t>::max())
    fail(where, ": maxpool2d input plane ", s.H, "x", s.W, " has more than 2^31 - 1 elements");
}

void check_sgd_options(const SgdOptions& o) {
  const struct {
    const char* name;
    float value;
  } values[] = {{"lr", o.lr},
                {"momentum", o.momentum},
                {"dampening", o.dampening},
                {"weight_decay", o.weight_decay}};
  for (const auto& v : values)
    if (!std::isfinite(v.value)) fail("SGD: ", v.name, " must be finite, found ", v.value);
  if (o.lr < 0.0f) fail("SGD: invalid learning rate lr = ", o.lr, " (must be >= 0)");
  if (o.momentum < 0.0f) fail("SGD: invalid momentum = ", o.momentum, " (must be >= 0)");
  if (o.weight_decay < 0.0f)
    fail("SGD: invalid weight_decay = ", o.weight_decay, " (must be >= 0)");
  if (o.nesterov && (o.momentum <= 0.0f || o.dampening != 0.0f))
    fail("SGD: nesterov requires momentum > 0 and dampening == 0, found momentum = ", o.momentum,
         ", dampening = ", o.dampening);
}

}  // namespace cudp
