// Flag definitions and checks for `cudp train`; see train_config.h.
//
// The defaults make `cudp train` with no flags the README's first run: seed-pool
// on the synthetic set, one CPU device, the article's optimizer (lr 0.001,
// momentum 0.9), 2 epochs of 4096 samples.
#include "apps/train_config.h"

#include "runtime/device_spec.h"
#include "runtime/error.h"

namespace cudp {

Flags train_flags() {
  Flags f("cudp train");
  f.add("model", "seed-pool", "model to train: seed-pool or seed (the article's Net as written)");
  f.add("input", "3x32x32", "sample shape CxHxW");
  f.add("batch", "32", "batch size");
  f.add("steps", "", "number of SGD steps (default: --epochs worth)");
  f.add("epochs", "2", "passes over the training set (ignored when --steps is given)");
  f.add("lr", "0.001", "learning rate (the article's)");
  f.add("momentum", "0.9", "SGD momentum (the article's)");
  f.add("dampening", "0", "SGD dampening");
  f.add("weight-decay", "0", "SGD weight decay (L2)");
  f.add_bool("nesterov", "Nesterov momentum");
  f.add("seed", "0", "seed for the init, the data and the shuffle");
  f.add("data", "synthetic", "synthetic (learnable templates + noise) or random (randn/randint)");
  f.add("train-size", "4096", "samples in the generated training set");
  f.add("test-size", "1024", "samples in the generated held-out set");
  f.add("devices", "cpu", "device to train on: cpu, cuda, cuda:N");
  f.add("log-every", "20", "print a progress line every N steps");
  f.add("save", "", "write the final parameters to this safetensors file");
  f.add("init", "", "start from the parameters in this safetensors file");
  f.add_bool("help", "print this help");
  return f;
}

Shape parse_input_shape(const std::string& text) {
  Shape shape;
  size_t start = 0;
  while (true) {
    const size_t x = text.find('x', start);
    const std::string part = text.substr(start, x == std::string::npos ? x : x - start);
    int64_t v = 0;
    bool digits = !part.empty() && part.size() <= 6;
    for (char c : part) digits = digits && c >= '0' && c <= '9';
    if (digits) v = std::stoll(part);
    if (!digits || v < 1)
      fail("--input: expected CxHxW with positive sizes (e.g. 3x32x32), found '", text, "'");
    shape.push_back(v);
    if (x == std::string::npos) break;
    start = x + 1;
  }
  if (shape.size() != 3)
    fail("--input: expected CxHxW with three sizes (e.g. 3x32x32), found '", text, "'");
  return shape;
}

TrainConfig parse_train_config(const std::vector<std::string>& args, std::string* help) {
  Flags f = train_flags();
  f.parse(args);
  TrainConfig c;
  c.help = f.boolean("help");
  if (c.help) {
    if (help) *help = f.help();
    return c;
  }
  c.model = f.str("model");
  c.input = parse_input_shape(f.str("input"));
  c.batch = f.positive_int("batch");
  if (f.given("steps")) {
    c.steps = f.positive_int("steps");
    if (f.given("epochs")) fail("--steps and --epochs: give one or the other, not both");
  } else {
    c.epochs = f.positive_int("epochs");
  }
  c.sgd.lr = static_cast<float>(f.non_negative_number("lr"));
  c.sgd.momentum = static_cast<float>(f.non_negative_number("momentum"));
  c.sgd.dampening = static_cast<float>(f.number("dampening"));
  c.sgd.weight_decay = static_cast<float>(f.non_negative_number("weight-decay"));
  c.sgd.nesterov = f.boolean("nesterov");
  check_sgd_options(c.sgd);
  c.seed = f.seed("seed");
  c.data = f.str("data");
  if (c.data != "synthetic" && c.data != "random")
    fail("--data: expected synthetic or random, found '", c.data, "'");
  c.train_size = f.positive_int("train-size");
  c.test_size = f.non_negative_int("test-size");
  c.devices_spec = f.str("devices");
  c.devices = parse_device_spec(c.devices_spec);
  if (c.devices.size() != 1)
    fail("--devices ", c.devices_spec, ": names ", c.devices.size(),
         " devices, but training on several devices (data parallelism) is not built yet; "
         "give one device, e.g. --devices cpu");
  c.log_every = f.positive_int("log-every");
  c.save_path = f.str("save");
  c.init_path = f.str("init");
  return c;
}

}  // namespace cudp
