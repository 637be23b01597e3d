// safetensors reader and writer (see safetensors.h), float32 only.
//
// Reader: the whole file is read, then every claim of the header is checked
// against it before a float is decoded: the 8-byte length (little-endian,
// at most 100 MB, inside the file), strict JSON, dtype F32, integer shapes,
// data_offsets that are [begin, end] with end - begin == numel * 4 and that
// tile the data area exactly (no overlap, no hole, no trailing byte: the
// format's rule). Writer: the header is padded with spaces so that the data
// starts at a multiple of 8, as the reference implementation does; values are
// encoded little-endian byte by byte, whatever the host's byte order.
#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "io/json.h"
#include "runtime/error.h"

namespace cudp {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;

uint64_t load_le64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
void store_le64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
float load_le_float(const char* p) {
  uint32_t bits = 0;
  for (int i = 3; i >= 0; --i) bits = (bits << 8) | static_cast<unsigned char>(p[i]);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
void store_le_float(char* p, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((bits >> (8 * i)) & 0xFF);
}

std::string read_whole_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, ": is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open for reading: ", std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, ": read error");
  return bytes;
}

// One tensor's header entry, checked; `begin`/`end` are offsets in the data area.
struct Entry {
  NamedTensor tensor;
  uint64_t begin = 0, end = 0;
};

uint64_t require_uint(const json::Value& v, const std::string& where, const char* what) {
  uint64_t out = 0;
  if (!v.as_uint64(&out))
    fail(where, ": expected ", what, " to be a non-negative integer, found ",
         v.kind == json::Kind::Number ? v.text : json::kind_name(v.kind));
  return out;
}

Entry parse_entry(const std::string& path, const std::string& name, const json::Value& v) {
  const std::string at = concat(path, ": tensor '", name, "'");
  if (v.kind != json::Kind::Object)
    fail(at, ": expected an object, found ", json::kind_name(v.kind));
  const json::Value *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
  for (const auto& [key, member] : v.members) {
    if (key == "dtype")
      dtype = &member;
    else if (key == "shape")
      shape = &member;
    else if (key == "data_offsets")
      offsets = &member;
    else
      fail(at, ": unexpected key '", key, "' (expected dtype, shape, data_offsets)");
  }
  if (!dtype || !shape || !offsets) fail(at, ": expected the keys dtype, shape and data_offsets");
  if (dtype->kind != json::Kind::String || dtype->text != "F32")
    fail(at, ": expected dtype F32 (cudp reads float32 only), found ",
         dtype->kind == json::Kind::String ? dtype->text : json::kind_name(dtype->kind));
  if (shape->kind != json::Kind::Array)
    fail(at, ": expected shape to be an array, found ", json::kind_name(shape->kind));
  Entry e;
  e.tensor.name = name;
  // At most 2^60 elements, so that numel * 4 bytes cannot wrap: with 2^62 it
  // wrapped to 0, and [4611686018427387904] with data_offsets [0, 0] passed as
  // a tensor of 2^62 elements holding no value.
  constexpr uint64_t kMaxNumel = uint64_t{1} << 60;
  uint64_t numel = 1;
  for (std::size_t i = 0; i < shape->items.size(); ++i) {
    const uint64_t dim = require_uint(shape->items[i], at, "every shape entry");
    if (dim > kMaxNumel || (dim != 0 && numel > kMaxNumel / dim))
      fail(at, ": shape is absurdly large: expected at most 2^60 elements, found ", dim,
           " at dimension ", i, " after ", numel, " elements");
    numel *= dim;
    e.tensor.shape.push_back(static_cast<int64_t>(dim));
  }
  if (offsets->kind != json::Kind::Array || offsets->items.size() != 2)
    fail(at, ": expected data_offsets to be [begin, end]");
  e.begin = require_uint(offsets->items[0], at, "data_offsets[0]");
  e.end = require_uint(offsets->items[1], at, "data_offsets[1]");
  if (e.end < e.begin)
    fail(at, ": data_offsets [", e.begin, ", ", e.end, "] end before they begin");
  if (e.end - e.begin != numel * 4)
    fail(at, ": shape ", shape_str(e.tensor.shape), " needs ", numel * 4,
         " bytes of F32, but data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin);
  return e;
}

}  // namespace

const NamedTensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

SafetensorsFile read_safetensors(const std::string& path) {
  return parse_safetensors(read_whole_file(path), path);
}

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 8)
    fail(path, ": not a safetensors file: ", bytes.size(),
         " bytes, shorter than the 8-byte header length");
  const uint64_t header_len = load_le64(bytes.data());
  if (header_len > kMaxHeaderBytes)
    fail(path, ": header length ", header_len, " is absurd (more than ", kMaxHeaderBytes,
         " bytes): not a safetensors file, or a corrupt one");
  if (header_len > bytes.size() - 8)
    fail(path, ": header length ", header_len, " runs past the end of the file (", bytes.size(),
         " bytes): truncated?");
  const std::string header = bytes.substr(8, header_len);
  const json::Value root = json::parse(header, path + " (header)", 8);
  if (root.kind != json::Kind::Object)
    fail(path, ": expected the header to be a JSON object, found ", json::kind_name(root.kind));

  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [name, value] : root.members) {
    if (name == "__metadata__") {
      if (value.kind != json::Kind::Object)
        fail(path, ": expected __metadata__ to be an object, found ", json::kind_name(value.kind));
      for (const auto& [key, v] : value.members) {
        if (v.kind != json::Kind::String)
          fail(path, ": expected __metadata__ value '", key, "' to be a string, found ",
               json::kind_name(v.kind));
        file.metadata[key] = v.text;
      }
      continue;
    }
    entries.push_back(parse_entry(path, name, value));  // duplicates: refused by the parser
  }

  // The data area [0, data_len) must be tiled exactly by the tensors.
  const uint64_t data_len = bytes.size() - 8 - header_len;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  uint64_t covered = 0;
  const std::string* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.end > data_len)
      fail(path, ": tensor '", e.tensor.name, "' data_offsets [", e.begin, ", ", e.end,
           "] run past the end of the data (", data_len, " bytes): truncated?");
    if (e.begin < covered)
      fail(path, ": tensors '", *previous, "' and '", e.tensor.name,
           "' overlap (data_offsets begin at ", e.begin, " before ", covered, ")");
    if (e.begin > covered)
      fail(path, ": data bytes [", covered, ", ", e.begin, ") belong to no tensor");
    covered = e.end;
    previous = &e.tensor.name;
  }
  if (covered != data_len)
    fail(path, ": data bytes [", covered, ", ", data_len, ") belong to no tensor");

  const char* data = bytes.data() + 8 + header_len;
  for (Entry& e : entries) {
    const std::size_t n = (e.end - e.begin) / 4;
    e.tensor.values.resize(n);
    for (std::size_t i = 0; i < n; ++i) e.tensor.values[i] = load_le_float(data + e.begin + 4 * i);
    file.tensors.push_back(std::move(e.tensor));
  }
  return file;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      header += (first ? "" : ",") + json::quote(key) + ":" + json::quote(value);
      first = false;
    }
    header += "}";
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__" || !names.insert(t.name).second)
      fail(path, ": cannot write tensor name '", t.name, "' (empty, reserved or repeated)");
    if (static_cast<int64_t>(t.values.size()) != shape_numel(t.shape))
      fail(path, ": tensor '", t.name, "' has shape ", shape_str(t.shape), " but ", t.values.size(),
           " values");
    std::string shape;
    for (int64_t d : t.shape) shape += (shape.empty() ? "" : ",") + std::to_string(d);
    const uint64_t end = offset + 4 * t.values.size();
    header += (header.size() > 1 ? "," : "") + json::quote(t.name) +
              ":{\"dtype\":\"F32\",\"shape\":[" + shape + "],\"data_offsets\":[" +
              std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // data starts 8-byte aligned

  std::string bytes;
  bytes.reserve(8 + header.size() + offset);
  store_le64(bytes, header.size());
  bytes += header;
  std::size_t at = bytes.size();
  bytes.resize(at + offset);
  for (const auto& t : tensors)
    for (float v : t.values) {
      store_le_float(&bytes[at], v);
      at += 4;
    }
  write_file_atomically(path, bytes);
}

}  // namespace cudp
