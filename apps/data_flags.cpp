// Data flags and loading (see data_flags.h).
//
// The subset flags mean different things for generated and file sets: for a
// file set a flag left at its default means all samples (-1 in DataConfig).
#include "apps/data_flags.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "runtime/error.h"

namespace cudp {

std::string DataConfig::text() const { return source.str(); }

void add_data_flags(Flags& f) {
  f.add("data", "synthetic",
        "synthetic (learnable templates + noise), random (randn/randint), fashion-mnist[:DIR] "
        "(default DIR /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist), "
        "mnist:DIR (IDX files) or cifar10:DIR (CIFAR-10 binary batches)");
  f.add("mean", "0", "file sets: subtract this after x/255 (one value, or one per channel: a,b,c)");
  f.add("std", "1", "file sets: then divide by this (one value, or one per channel)");
  f.add("train-size", "4096",
        "training samples: a generated set's count, or a file set's first N (default: 4096 "
        "generated, all of a file set)");
  f.add("test-size", "1024",
        "held-out samples: a generated set's count, or a file set's first N test samples "
        "(default: 1024 generated, all of a file set)");
}

std::vector<float> parse_channel_values(const std::string& text, const std::string& flag) {
  std::vector<float> values;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? comma : comma - start);
    char* end = nullptr;
    const double v = part.empty() ? NAN : std::strtod(part.c_str(), &end);
    if (part.empty() || *end != '\0' || !std::isfinite(v))
      fail(flag, ": expected a number or comma-separated numbers (one per channel), found '", text,
           "'");
    values.push_back(static_cast<float>(v));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

DataConfig parse_data_config(const Flags& f) {
  DataConfig c;
  c.source = parse_data_source(f.str("data"));
  c.norm.mean = parse_channel_values(f.str("mean"), "--mean");
  c.norm.std = parse_channel_values(f.str("std"), "--std");
  for (float s : c.norm.std)
    if (!(s > 0)) fail("--std: expected positive values, found '", f.str("std"), "'");
  if (c.source.from_files()) {
    c.train_size = f.given("train-size") ? f.positive_int("train-size") : -1;
    c.test_size = f.given("test-size") ? f.non_negative_int("test-size") : -1;
  } else {
    if (f.given("mean") || f.given("std"))
      fail("--mean/--std: only for file sets (fashion-mnist, mnist, cifar10); ", c.source.kind,
           " data is generated already normalised");
    c.train_size = f.positive_int("train-size");
    c.test_size = f.non_negative_int("test-size");
  }
  return c;
}

DataSplit load_data(const DataConfig& c, Shape* input, bool input_given, const std::string& model,
                    uint64_t seed, bool load_train) {
  if (!c.source.from_files())
    return c.source.kind == "synthetic" ? make_synthetic(*input, c.train_size, c.test_size, seed)
                                        : make_random(*input, c.train_size, c.test_size, seed);
  FileDataOptions options;
  options.norm = c.norm;
  options.train_limit = std::max<int64_t>(c.train_size, 0);
  options.test_limit = std::max<int64_t>(c.test_size, 0);
  options.load_train = load_train;
  DataSplit split = load_file_data(c.source, options);
  if (input_given) check_input_matches(split.test, *input, model, "--data " + c.text());
  *input = split.test.sample_shape;
  if (c.test_size == 0) {  // --test-size 0: no evaluation
    split.test.images.clear();
    split.test.labels.clear();
  }
  return split;
}

std::vector<std::string> class_names(const DataSource& source, int64_t classes) {
  std::vector<std::string> names;
  if (classes == 10 && source.kind == "fashion-mnist")
    names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  else if (classes == 10 && source.kind == "cifar10")
    names = {"airplane", "automobile", "bird",  "cat",  "deer",
             "dog",      "frog",       "horse", "ship", "truck"};
  else
    for (int64_t i = 0; i < classes; ++i) names.push_back(std::to_string(i));
  return names;
}

}  // namespace cudp
