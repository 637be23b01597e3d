// Replica (see replica.h): Sequential's loops, one queued closure per layer.
//
// Each closure captures plain pointers and N by value: the host may queue the
// next layer (or the next replica's work) while this one runs on the worker.
#include "parallel/replica.h"

#include "runtime/error.h"

namespace cudp {

Replica::Replica(LogicalDevice& device, std::unique_ptr<Sequential> net)
    : device_(device), net_(std::move(net)) {
  CUDP_ASSERT(net_ && net_->device() == device.device);
  sample_ = shape_numel(net_->input_shape());
  classes_ = net_->classes();
  const auto& layers = net_->layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    source_.push_back(layers[i]->output_aliases_input() ? (i == 0 ? -1 : source_.back())
                                                        : static_cast<int>(i));
    forward_names_.push_back("forward/" + layers[i]->name());
    backward_names_.push_back("backward/" + layers[i]->name());
  }
  activations_.resize(layers.size());
  activation_grads_.resize(layers.size());
  int64_t offset = 0;  // Sequential binds the layers' parameters in order
  for (const auto& layer : layers) {
    slices_.push_back({offset, layer->param_count()});
    offset += layer->param_count();
  }
  CUDP_ASSERT(offset == net_->param_count());
  for (std::size_t i = layers.size(); i-- > 0;)
    if (!layers[i]->output_aliases_input()) backward_order_.push_back(i);
}

void Replica::reserve(int64_t N) {
  if (N <= capacity_) return;
  const Device device = device_.device;
  const auto& layers = net_->layers();
  const auto& shapes = net_->shapes();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    layers[i]->reserve(device, N);
    if (source_[i] != static_cast<int>(i)) continue;  // aliases an earlier buffer
    const auto count = static_cast<std::size_t>(N * shape_numel(shapes[i + 1]));
    activations_[i] = Buffer<float>(device, count);
    if (source_[i] != source_.back()) activation_grads_[i] = Buffer<float>(device, count);
  }
  x_ = Buffer<float>(device, static_cast<std::size_t>(N * sample_));
  y_ = Buffer<int32_t>(device, static_cast<std::size_t>(N));
  dlogits_ = Buffer<float>(device, static_cast<std::size_t>(N * classes_));
  capacity_ = N;
}

const float* Replica::output_of(std::size_t i) const {
  return source_[i] < 0 ? x_.data() : activations_[static_cast<std::size_t>(source_[i])].data();
}

float* Replica::grad_buffer(std::size_t i) {
  CUDP_ASSERT(source_[i] != source_.back());  // that one is dlogits
  return source_[i] < 0 ? nullptr : activation_grads_[static_cast<std::size_t>(source_[i])].data();
}

const float* Replica::logits() const { return output_of(source_.size() - 1); }

void Replica::forward(int64_t N, Tracer* tracer,
                      const std::function<void(std::size_t)>& before_layer) {
  if (N < 1 || N > capacity_)
    fail(device_.name(), ": forward of ", N, " samples, reserved for ", capacity_);
  last_N_ = N;
  const Context ctx = device_.context();
  const auto& layers = net_->layers();
  const float* in = x_.data();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i]->output_aliases_input()) continue;
    Layer* layer = layers[i].get();
    float* out = activations_[i].data();
    if (before_layer) before_layer(i);
    traced(tracer, device_.compute, device_.rank, Lane::Compute, forward_names_[i].c_str(), {},
           [&] { device_.compute.enqueue([=] { layer->forward(ctx, N, in, out); }); });
    in = out;
  }
}

void Replica::backward_layer(std::size_t i, Tracer* tracer) {
  if (last_N_ == 0) fail(device_.name(), ": backward called before any forward");
  const Context ctx = device_.context();
  const int64_t N = last_N_;
  Layer* layer = net_->layers().at(i).get();
  CUDP_ASSERT(!layer->output_aliases_input());
  const float* x = i == 0 ? x_.data() : output_of(i - 1);
  const float* y = output_of(i);
  const float* dy = source_[i] == source_.back() ? dlogits_.data() : grad_buffer(i);
  float* dx = i == 0 ? nullptr : grad_buffer(i - 1);
  traced(tracer, device_.compute, device_.rank, Lane::Compute, backward_names_[i].c_str(), {},
         [&] { device_.compute.enqueue([=] { layer->backward(ctx, N, x, y, dy, dx); }); });
}

}  // namespace cudp
