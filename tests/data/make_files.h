// Small generated dataset files for the data tests: IDX (plain or gzipped),
// CIFAR-10 records, and a folder laid out as --data expects.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace cudp::test {

inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// IDX bytes: magic, big-endian dims, values.
inline std::string idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims,
                             const std::vector<uint8_t>& values) {
  std::string out = be32(magic);
  for (uint32_t d : dims) out += be32(d);
  out.append(values.begin(), values.end());
  return out;
}

// Pixel (i, j) of sample s: a value that names its place, so a mix-up shows.
inline uint8_t pixel_value(int64_t s, int64_t j) { return static_cast<uint8_t>((s * 7 + j) % 256); }

inline std::vector<uint8_t> sample_pixels(int64_t n, int64_t numel) {
  std::vector<uint8_t> v(static_cast<size_t>(n * numel));
  for (int64_t s = 0; s < n; ++s)
    for (int64_t j = 0; j < numel; ++j) v[static_cast<size_t>(s * numel + j)] = pixel_value(s, j);
  return v;
}

inline std::vector<uint8_t> sample_labels(int64_t n, int classes = 10) {
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s)
    v[static_cast<size_t>(s)] = static_cast<uint8_t>((s * 3) % classes);
  return v;
}

inline std::string gzip_bytes(const std::string& plain) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&z, plain.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(&out[0]);
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// CIFAR-10 records: label byte then 3072 pixels.
inline std::string cifar_bytes(int64_t n, int64_t first_sample = 0) {
  const std::vector<uint8_t> labels = sample_labels(n + first_sample);
  std::string out;
  for (int64_t s = first_sample; s < first_sample + n; ++s) {
    out += static_cast<char>(labels[static_cast<size_t>(s)]);
    for (int64_t j = 0; j < 3072; ++j) out += static_cast<char>(pixel_value(s, j));
  }
  return out;
}

// An MNIST-style folder: train (n_train) and t10k (n_test) HxW images.
inline void write_idx_folder(const std::filesystem::path& folder, int64_t n_train, int64_t n_test,
                             uint32_t h = 28, uint32_t w = 28, bool gzipped = true) {
  std::filesystem::create_directories(folder);
  const std::string ext = gzipped ? ".gz" : "";
  for (const auto& [prefix, n] :
       {std::pair<std::string, int64_t>{"train", n_train}, {"t10k", n_test}}) {
    std::string images =
        idx_bytes(0x803, {static_cast<uint32_t>(n), h, w}, sample_pixels(n, h * w));
    std::string labels = idx_bytes(0x801, {static_cast<uint32_t>(n)}, sample_labels(n));
    write_file(folder / (prefix + "-images-idx3-ubyte" + ext),
               gzipped ? gzip_bytes(images) : images);
    write_file(folder / (prefix + "-labels-idx1-ubyte" + ext),
               gzipped ? gzip_bytes(labels) : labels);
  }
}

// A CIFAR-10 folder: five training batches of n_per_batch, one test batch of n_test.
inline void write_cifar_folder(const std::filesystem::path& folder, int64_t n_per_batch,
                               int64_t n_test) {
  std::filesystem::create_directories(folder);
  for (int i = 1; i <= 5; ++i)
    write_file(folder / ("data_batch_" + std::to_string(i) + ".bin"),
               cifar_bytes(n_per_batch, (i - 1) * n_per_batch));
  write_file(folder / "test_batch.bin", cifar_bytes(n_test));
}

}  // namespace cudp::test
