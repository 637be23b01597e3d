// Sequential: shape inference, the flat parameter/gradient buffers, and the
// forward/backward loops (see sequential.h).
//
// Buffers: layer i writes its output into activations_[i] and receives its
// output gradient in activation_grads_[i], both sized for `capacity_` samples.
// Exceptions: a layer whose output aliases its input (Flatten) gets no buffer
// and is skipped (source_ says whose buffer it shares); the last output's
// gradient is the caller's dlogits; the first real layer gets dx = nullptr,
// since nothing needs the gradient of the net's input.
#include "model/sequential.h"

#include <algorithm>
#include <iomanip>
#include <set>
#include <sstream>

#include "runtime/error.h"

namespace cudp {

Sequential::Sequential(std::string name, Shape input, std::vector<std::unique_ptr<Layer>> layers,
                       Device device)
    : name_(std::move(name)),
      input_(std::move(input)),
      layers_(std::move(layers)),
      device_(device) {
  if (layers_.empty()) fail(name_, ": a net needs at least one layer");
  if (input_.empty() || std::any_of(input_.begin(), input_.end(), [](int64_t d) { return d <= 0; }))
    fail(name_, ": expected an input shape with positive sizes, found '", shape_str(input_), "'");
  shapes_.push_back(input_);
  std::set<std::string> seen;
  int64_t offset = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = *layers_[i];
    if (layer.name().empty() || !seen.insert(layer.name()).second)
      fail(name_, ": layer ", i, " needs a unique, non-empty name, found '", layer.name(), "'");
    try {
      shapes_.push_back(layer.infer(shapes_.back()));
    } catch (const Error& e) {
      fail(e.what(), " (input ", shape_str(shapes_.back()), " from ",
           i == 0 ? std::string("the net's input") : layers_[i - 1]->name(), ")");
    }
    param_offsets_.push_back(offset);
    for (const ParamInfo& p : layer.params())
      named_.push_back({layer.name() + "." + p.suffix, p.shape, offset + p.offset});
    offset += layer.param_count();
    source_.push_back(layer.output_aliases_input() ? (i == 0 ? -1 : source_.back())
                                                   : static_cast<int>(i));
  }
  params_ = Buffer<float>(device_, static_cast<std::size_t>(offset));
  grads_ = Buffer<float>(device_, static_cast<std::size_t>(offset));
  // Zeros until init() or a weights file fills them: never uninitialised memory.
  if (offset > 0) {
    const Context ctx{device_};
    fill_bytes(ctx, params_.data(), 0, params_.bytes());
    fill_bytes(ctx, grads_.data(), 0, grads_.bytes());
    synchronize(ctx);
  }
  offset = 0;
  for (auto& layer : layers_) {
    layer->bind(params_.data() + offset, grads_.data() + offset);
    offset += layer->param_count();
  }
  activations_.resize(layers_.size());
  activation_grads_.resize(layers_.size());
}

void Sequential::init(uint64_t seed) {
  Rng rng(seed);
  std::vector<float> host(params_.size());
  int64_t offset = 0;
  for (const auto& layer : layers_) {
    layer->init(rng, host.data() + offset);
    offset += layer->param_count();
  }
  if (host.empty()) return;
  const Context ctx{device_};
  upload(ctx, params_.data(), device_, host.data(), params_.bytes());
}

void Sequential::reserve(int64_t N) {
  if (N <= capacity_) return;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->reserve(device_, N);
    if (source_[i] != static_cast<int>(i)) continue;  // aliases an earlier buffer
    const auto count = static_cast<std::size_t>(N * shape_numel(shapes_[i + 1]));
    activations_[i] = Buffer<float>(device_, count);
    if (source_[i] != source_.back()) activation_grads_[i] = Buffer<float>(device_, count);
  }
  capacity_ = N;
}

const float* Sequential::output_of(std::size_t i) const {
  return source_[i] < 0 ? last_x_ : activations_[static_cast<std::size_t>(source_[i])].data();
}

float* Sequential::grad_buffer(std::size_t i) {
  CUDP_ASSERT(source_[i] != source_.back());  // that one is the caller's dlogits
  return source_[i] < 0 ? nullptr : activation_grads_[static_cast<std::size_t>(source_[i])].data();
}

const float* Sequential::logits() const {
  if (last_N_ == 0) fail(name_, ": logits() called before any forward");
  return output_of(layers_.size() - 1);
}

const float* Sequential::forward(const Context& ctx, int64_t N, const float* x,
                                 LayerRunner* runner) {
  if (N <= 0) fail(name_, ": forward needs a positive batch size, found ", N);
  if (ctx.device != device_)
    fail(name_, ": the net lives on ", device_.str(), ", the context is on ", ctx.device.str());
  reserve(N);
  last_x_ = x;
  last_N_ = N;
  const float* in = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i]->output_aliases_input()) continue;
    Layer* layer = layers_[i].get();
    float* y = activations_[i].data();
    auto work = [ctx, layer, N, in, y] { layer->forward(ctx, N, in, y); };
    if (runner)
      runner->forward(i, work);
    else
      work();
    in = y;
  }
  return in;
}

void Sequential::backward(const Context& ctx, const float* dlogits, LayerRunner* runner) {
  if (last_N_ == 0) fail(name_, ": backward called before any forward");
  if (ctx.device != device_)
    fail(name_, ": the net lives on ", device_.str(), ", the context is on ", ctx.device.str());
  for (std::size_t i = layers_.size(); i-- > 0;) {
    if (layers_[i]->output_aliases_input()) continue;
    Layer* layer = layers_[i].get();
    const int64_t N = last_N_;
    const float* x = i == 0 ? last_x_ : output_of(i - 1);
    const float* y = output_of(i);
    const float* dy = source_[i] == source_.back() ? dlogits : grad_buffer(i);
    float* dx = i == 0 ? nullptr : grad_buffer(i - 1);
    auto work = [ctx, layer, N, x, y, dy, dx] { layer->backward(ctx, N, x, y, dy, dx); };
    if (runner)
      runner->backward(i, work);
    else
      work();
  }
}

std::string Sequential::summary() const {
  std::vector<std::string> outputs;
  std::size_t name_w = 5, describe_w = 4, output_w = 6;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    outputs.push_back(shape_str(shapes_[i + 1]));
    name_w = std::max(name_w, layers_[i]->name().size());
    describe_w = std::max(describe_w, layers_[i]->describe().size());
    output_w = std::max(output_w, outputs.back().size());
  }
  std::ostringstream out;
  auto row = [&](const std::string& a, const std::string& b, const std::string& c,
                 const std::string& d) {
    out << "  " << std::left << std::setw(static_cast<int>(name_w + 2)) << a
        << std::setw(static_cast<int>(describe_w + 2)) << b
        << std::setw(static_cast<int>(output_w + 2)) << c << std::right << std::setw(10) << d
        << "\n";
  };
  out << name_ << ": input " << shape_str(input_) << " on " << device_.str() << "\n";
  row("layer", "type", "output", "params");
  for (std::size_t i = 0; i < layers_.size(); ++i)
    row(layers_[i]->name(), layers_[i]->describe(), outputs[i],
        std::to_string(layers_[i]->param_count()));
  row("total", "", "", std::to_string(param_count()));
  return out.str();
}

}  // namespace cudp
