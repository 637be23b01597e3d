// `cudp eval --init PATH --data ...`: a weights file's accuracy and loss on a
// test set, and its confusion matrix.
//
// What the file was trained on is in its metadata (cudp train --save writes
// model, data, mean, std, input, seed): a flag that is not given takes the
// file's value, so `cudp eval --init run.safetensors` evaluates on the run's
// own test set. One device (--devices cpu or cuda:I); the logits come back to
// the host batch by batch for the argmax, as in training.
#include <cstdio>
#include <iomanip>

#include "apps/cli.h"
#include "apps/data_flags.h"
#include "apps/train_config.h"
#include "checkpoint/weights.h"
#include "io/safetensors.h"
#include "model/loss.h"
#include "model/models.h"
#include "runtime/device_spec.h"
#include "runtime/error.h"

namespace cudp {
namespace {

Flags eval_flags() {
  Flags f("cudp eval");
  f.add("init", "", "the weights (safetensors) to evaluate; required");
  f.add("model", "seed-pool", "model the weights belong to (default: the file's metadata, else seed-pool)");
  f.add("input", "3x32x32", "generated sets: sample shape CxHxW (default: the file's metadata, else 3x32x32)");
  add_data_flags(f);
  f.add("seed", "0", "generated sets: their seed (default: the file's metadata, else 0)");
  f.add("batch", "256", "samples per forward pass");
  f.add("devices", "cpu", "the one device to run on: cpu or cuda:I");
  f.add_bool("help", "print this help");
  return f;
}

// Rows: true class; columns: predicted class.
void print_confusion(std::ostream& out, const std::vector<int64_t>& counts,
                     const std::vector<std::string>& names) {
  const auto k = static_cast<int64_t>(names.size());
  std::size_t width = 5;
  for (int64_t c : counts) width = std::max(width, std::to_string(c).size() + 1);
  out << "confusion matrix (rows: true class, columns: predicted class)\n";
  out << std::setw(16) << "";
  for (int64_t j = 0; j < k; ++j) out << std::setw(static_cast<int>(width)) << j;
  out << "   recall\n";
  for (int64_t i = 0; i < k; ++i) {
    const std::string label = std::to_string(i) + " " + names[static_cast<size_t>(i)];
    out << std::left << std::setw(16) << label.substr(0, 15) << std::right;
    int64_t row = 0;
    for (int64_t j = 0; j < k; ++j) {
      row += counts[static_cast<size_t>(i * k + j)];
      out << std::setw(static_cast<int>(width)) << counts[static_cast<size_t>(i * k + j)];
    }
    char recall[32];
    std::snprintf(recall, sizeof recall, "  %6.1f%%",
                  row ? 100.0 * counts[static_cast<size_t>(i * k + i)] / row : 0.0);
    out << recall << "\n";
  }
}

}  // namespace

int eval_command(const std::vector<std::string>& args, std::ostream& out) {
  Flags f = eval_flags();
  f.parse(args);
  if (f.boolean("help")) {
    out << "usage: cudp eval --init PATH [flags]\n\nPrints a model's test accuracy, loss and "
           "confusion matrix.\n\n"
        << f.help();
    return 0;
  }
  const std::string path = f.str("init");
  if (path.empty()) fail("--init: expected the weights file to evaluate");
  const std::map<std::string, std::string> metadata = read_safetensors(path).metadata;
  for (const char* key : {"model", "data", "mean", "std", "input", "seed"}) {
    const auto it = metadata.find(key);
    if (it != metadata.end() && it->second != "none") f.set_default(key, it->second);
  }
  const std::string model = f.str("model");
  Shape input = parse_input_shape(f.str("input"));
  const DataConfig data_config = parse_data_config(f);
  const int64_t batch = f.positive_int("batch");
  const std::vector<Device> devices = parse_device_spec(f.str("devices"));
  if (devices.size() != 1)
    fail("--devices: cudp eval runs on one device, found ", device_list_str(devices));
  const Device device = devices[0];

  const DataSplit data =
      load_data(data_config, &input, f.given("input"), model, f.seed("seed"), false);
  const Dataset& test = data.test;
  if (test.size() == 0) fail("--test-size: nothing to evaluate (0 samples)");
  auto net = build_model(model, input, device, test.classes);
  load_weights(*net, path);
  out << "cudp eval\n  weights     " << path << "\n  model       " << model << " on "
      << shape_str(input) << "\n  data        " << data_config.text() << " (" << test.size()
      << (data_config.source.from_files() ? " test" : " held-out") << " samples"
      << (data_config.source.from_files() ? ", " + data_config.norm.str() : "")
      << ")\n  device      " << device.str() << "\n";

  const Context ctx{device};
  CrossEntropyLoss loss(device);
  const int64_t classes = test.classes, numel = test.sample_numel();
  Buffer<float> x(device, static_cast<size_t>(batch * numel));
  Buffer<int32_t> y(device, static_cast<size_t>(batch));
  std::vector<float> logits(static_cast<size_t>(batch * classes));
  std::vector<int64_t> counts(static_cast<size_t>(classes * classes), 0);
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t first = 0; first < test.size(); first += batch) {
    const int64_t n = std::min(batch, test.size() - first);
    copy_bytes(ctx, x.data(), device, test.images.data() + first * numel, cpu_device(),
               n * numel * sizeof(float));
    copy_bytes(ctx, y.data(), device, test.labels.data() + first, cpu_device(),
               n * sizeof(int32_t));
    const float* out_logits = net->forward(ctx, n, x.data());
    loss.compute(ctx, n, classes, out_logits, y.data(), nullptr);
    copy_bytes(ctx, logits.data(), cpu_device(), out_logits, device, n * classes * sizeof(float));
    loss_sum += static_cast<double>(loss.value(ctx)) * n;  // value() synchronizes
    for (int64_t i = 0; i < n; ++i) {
      const float* row = logits.data() + i * classes;
      int64_t best = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (row[c] > row[best]) best = c;  // the first maximum, as torch.argmax
      const int64_t truth = test.labels[static_cast<size_t>(first + i)];
      ++counts[static_cast<size_t>(truth * classes + best)];
      correct += best == truth;
    }
  }
  char line[160];
  std::snprintf(line, sizeof line, "test loss %.4f  accuracy %.2f%% (%lld of %lld)\n",
                loss_sum / test.size(), 100.0 * correct / test.size(),
                static_cast<long long>(correct), static_cast<long long>(test.size()));
  out << line;
  print_confusion(out, counts, class_names(data_config.source, classes));
  return 0;
}

}  // namespace cudp
