// Data sources: parsing and the file-set loaders (see sources.h). Errors are
// ParameterErrors for "data" (cudp prints them as --data).
//
// A file that cannot be found is reported with every name that was tried
// (plain and .gz), so a user with a half-unpacked download sees what is
// missing. The subset limits cut after reading, in file order, so a subset is
// the same whatever the shuffle seed.
#include "data/sources.h"

#include <filesystem>

#include "data/cifar.h"
#include "data/idx.h"
#include "runtime/error.h"

namespace cudp {

const char* const kFashionMnistFolder = "/usr/share/datasets/fashion-mnist";

namespace {

namespace fs = std::filesystem;

const char* kForms = "synthetic, random, fashion-mnist[:DIR], mnist:DIR or cifar10:DIR";

// Throws if `folder` is missing; the default Fashion-MNIST folder names its package.
void require_folder(const DataSource& source) {
  std::error_code ec;
  if (fs::is_directory(source.folder, ec)) return;
  const bool exists = fs::exists(source.folder, ec);
  const std::string what = exists ? " is not a folder" : " does not exist";
  if (source.kind == "fashion-mnist")
    fail_value("data", source.str(), "the folder ", source.folder, what,
               ": install Debian's package with `apt-get install dataset-fashion-mnist` (it fills ",
               kFashionMnistFolder, "), or give fashion-mnist:DIR");
  fail_value("data", source.str(), "the folder ", source.folder, what);
}

// DIR/name or DIR/name.gz, whichever exists.
std::string find_idx_file(const DataSource& source, const std::string& name) {
  const fs::path plain = fs::path(source.folder) / name;
  const fs::path packed = fs::path(source.folder) / (name + ".gz");
  std::error_code ec;
  if (fs::is_regular_file(plain, ec)) return plain.string();
  if (fs::is_regular_file(packed, ec)) return packed.string();
  fail_value("data", source.str(), "expected ", plain.string(), " or ", packed.string(),
             ", found neither",
             source.kind == "fashion-mnist" && source.folder == kFashionMnistFolder
                 ? " (reinstall the package: `apt reinstall dataset-fashion-mnist`)"
                 : "");
}

std::vector<std::string> cifar_files(const DataSource& source, bool train) {
  fs::path folder = source.folder;
  std::error_code ec;
  if (!fs::exists(folder / "test_batch.bin", ec) &&
      fs::is_directory(folder / "cifar-10-batches-bin", ec))
    folder /= "cifar-10-batches-bin";
  std::vector<std::string> paths;
  if (train)
    for (int i = 1; i <= 5; ++i)
      paths.push_back((folder / concat("data_batch_", i, ".bin")).string());
  else
    paths.push_back((folder / "test_batch.bin").string());
  for (const std::string& p : paths)
    if (!fs::is_regular_file(p, ec))
      fail_value("data", source.str(), "expected the CIFAR-10 binary file ", p,
                 ", found none (the binary version: data_batch_1..5.bin and test_batch.bin)");
  return paths;
}

Dataset cut(const RawImages& raw, const std::string& name, const FileDataOptions& options,
            int64_t limit) {
  const int64_t count = limit > 0 && limit < raw.size() ? limit : raw.size();
  return to_dataset(raw, name, options.norm, options.classes, 0, count);
}

}  // namespace

DataSource parse_data_source(const std::string& text) {
  const auto colon = text.find(':');
  DataSource s;
  s.kind = text.substr(0, colon);
  if (colon != std::string::npos) s.folder = text.substr(colon + 1);
  const bool known = s.kind == "synthetic" || s.kind == "random" || s.kind == "fashion-mnist" ||
                     s.kind == "mnist" || s.kind == "cifar10";
  if (!known) fail_parameter("data", "expected ", kForms, ", found '", text, "'");
  if (!s.from_files() && colon != std::string::npos)
    fail_parameter("data", s.kind, " is generated and takes no folder, found '", text, "'");
  if (s.from_files() && colon != std::string::npos && s.folder.empty())
    fail_parameter("data", "expected a folder after '", s.kind, ":', found nothing");
  if (s.kind == "fashion-mnist" && s.folder.empty()) s.folder = kFashionMnistFolder;
  if (s.from_files() && s.folder.empty())
    fail_value("data", s.kind, "expected ", s.kind, ":DIR, the folder that holds its files");
  return s;
}

DataSplit load_file_data(const DataSource& source, const FileDataOptions& options) {
  CUDP_ASSERT(source.from_files());
  require_folder(source);
  RawImages train, test;
  if (source.kind == "cifar10") {
    if (options.load_train) train = read_cifar10_files(cifar_files(source, true), options.classes);
    test = read_cifar10_files(cifar_files(source, false), options.classes);
  } else {
    if (options.load_train)
      train = read_idx_images(find_idx_file(source, "train-images-idx3-ubyte"),
                              find_idx_file(source, "train-labels-idx1-ubyte"), options.classes);
    test = read_idx_images(find_idx_file(source, "t10k-images-idx3-ubyte"),
                           find_idx_file(source, "t10k-labels-idx1-ubyte"), options.classes);
  }
  if (!options.load_train) train.sample_shape = test.sample_shape;
  if (train.sample_shape != test.sample_shape)
    fail_value("data", source.str(), "training images are ", shape_str(train.sample_shape),
               " but test images are ", shape_str(test.sample_shape), " (", test.source, ")");
  return {cut(train, source.kind, options, options.train_limit),
          cut(test, source.kind, options, options.test_limit)};
}

void check_input_matches(const Dataset& data, const Shape& model_input, const std::string& model,
                         const std::string& where) {
  if (data.sample_shape != model_input)
    fail(where, ": the images are ", shape_str(data.sample_shape), " but model ", model,
         " was built for ", shape_str(model_input), " inputs");
}

}  // namespace cudp
