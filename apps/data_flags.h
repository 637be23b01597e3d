// The data flags that `cudp train` and `cudp eval` share, and loading the data.
//
//   --data        synthetic | random | fashion-mnist[:DIR] | mnist:DIR | cifar10:DIR
//   --mean/--std  per-channel normalisation after x/255 (file sets; 1 or C values)
//   --train-size  generated: the training set's size; file set: its first N (default all)
//   --test-size   the same for the test (held-out) set
// A file set fixes the input shape (1x28x28, 3x32x32): `--input` is then only a
// check, refused with both shapes when it disagrees.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/flags.h"
#include "data/sources.h"

namespace cudp {

struct DataConfig {
  DataSource source;
  Normalization norm;
  int64_t train_size = 4096, test_size = 1024;  // file sets: -1 means all
  std::string text() const;                     // "fashion-mnist:/usr/share/...", "synthetic"
};

void add_data_flags(Flags& f);
DataConfig parse_data_config(const Flags& f);
// "0.5" or "0.49,0.48,0.45"; throws naming the flag.
std::vector<float> parse_channel_values(const std::string& text, const std::string& flag);

// Loads (or generates) the data. For a file set, sets *input to the images'
// shape after checking it against an explicit --input.
DataSplit load_data(const DataConfig& c, Shape* input, bool input_given, const std::string& model,
                    uint64_t seed, bool load_train = true);

// Human names of the classes of a known data set ("T-shirt/top", ...), else "0".."9".
std::vector<std::string> class_names(const DataSource& source, int64_t classes);

}  // namespace cudp
