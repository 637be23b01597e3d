// Data sources (cudp's `--data`): where a training run's samples come from, and
// loading them.
//
//   synthetic, random       generated (see dataset.h); the model's input shape
//   fashion-mnist[:DIR]     IDX files, default DIR /usr/share/datasets/fashion-mnist
//                           (Debian's dataset-fashion-mnist package)
//   mnist:DIR               IDX files (train-images-idx3-ubyte[.gz], ...)
//   cifar10:DIR             data_batch_1..5.bin and test_batch.bin, in DIR or
//                           in DIR/cifar-10-batches-bin (the tarball's folder)
// A file set's samples have the files' shape (1x28x28, 3x32x32); a model built
// for another shape is refused by check_input_matches, naming both.
#pragma once

#include <cstdint>
#include <string>

#include "data/dataset.h"
#include "data/raw_images.h"

namespace cudp {

struct DataSource {
  std::string kind;    // synthetic, random, fashion-mnist, mnist, cifar10
  std::string folder;  // file sets only
  bool from_files() const { return kind != "synthetic" && kind != "random"; }
  std::string str() const { return from_files() ? kind + ":" + folder : kind; }
};

// Parses a source's text; throws a ParameterError for "data" naming the accepted forms.
DataSource parse_data_source(const std::string& text);
extern const char* const kFashionMnistFolder;  // /usr/share/datasets/fashion-mnist

struct FileDataOptions {
  Normalization norm;
  int64_t classes = 10;
  int64_t train_limit = 0;  // > 0: the first N training samples only (file order)
  int64_t test_limit = 0;   // > 0: the first N test samples only
  bool load_train = true;   // false: the test split only (cudp eval); train is left empty
};
// Loads a file set's train and test splits; errors name the folder, the file,
// and for a missing Debian dataset the package to install.
DataSplit load_file_data(const DataSource& source, const FileDataOptions& options);

// Throws unless the data's samples have the shape the model was built for.
void check_input_matches(const Dataset& data, const Shape& model_input, const std::string& model,
                         const std::string& where);

}  // namespace cudp
