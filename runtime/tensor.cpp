// See tensor.h.
#include "runtime/tensor.h"

#include "runtime/error.h"

namespace cudp {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string out;
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "x" : "") + std::to_string(shape[i]);
  return out.empty() ? "scalar" : out;
}

Tensor::Tensor(Shape shape, Device device) : shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0) fail("tensor shape ", shape_str(shape_), " has a negative dimension");
  buffer_ = Buffer<float>(device, static_cast<std::size_t>(shape_numel(shape_)));
}

namespace {
Context context_for(Device a, Device b) {
  Context ctx;
  ctx.device = a.is_cuda() ? a : b;
  return ctx;
}
}  // namespace

Tensor copy_to(const Tensor& src, Device device) {
  Tensor dst(src.shape(), device);
  const Context ctx = context_for(device, src.device());
  copy_bytes(ctx, dst.data(), device, src.data(), src.device(), src.numel() * sizeof(float));
  synchronize(ctx);
  return dst;
}

std::vector<float> to_host(const Tensor& src) {
  std::vector<float> values(static_cast<size_t>(src.numel()));
  const Context ctx = context_for(src.device(), cpu_device());
  copy_bytes(ctx, values.data(), cpu_device(), src.data(), src.device(),
             values.size() * sizeof(float));
  synchronize(ctx);
  return values;
}

Tensor from_host(const std::vector<float>& values, Shape shape, Device device) {
  Tensor dst(std::move(shape), device);
  if (static_cast<int64_t>(values.size()) != dst.numel())
    fail("from_host: shape ", shape_str(dst.shape()), " needs ", dst.numel(), " values, found ",
         values.size());
  const Context ctx = context_for(device, cpu_device());
  copy_bytes(ctx, dst.data(), device, values.data(), cpu_device(), values.size() * sizeof(float));
  synchronize(ctx);
  return dst;
}

}  // namespace cudp
