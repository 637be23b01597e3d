// safetensors: round trip, the written layout, and corrupt files refused with
// a message that names the file and the problem (never a crash).
#include "io/safetensors.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/error.h"
#include "tests/common/poison.h"
#include "tests/common/test_files.h"
#include "tests/common/tolerance.h"

namespace cudp {
namespace {

using Safetensors = test::ScratchFolder;

std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
// A file with this header and `data_bytes` zero bytes of data.
std::string file_with(const std::string& header, std::size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

class SafetensorsCorrupt : public test::ScratchFolder {
 protected:
  // The message read_safetensors gives for `bytes` ("" when it accepts them).
  std::string error_for(const std::string& bytes) {
    const std::string p = path("bad.safetensors");
    write_bytes(p, bytes);
    try {
      read_safetensors(p);
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(p), std::string::npos) << "the message should name the file: " << m;
      return m;
    }
    return "";
  }
};

#define EXPECT_CONTAINS(text, part)                                                           \
  do {                                                                                        \
    const std::string text_ = (text);                                                         \
    EXPECT_NE(text_.find(part), std::string::npos) << "'" << (part) << "' not in: " << text_; \
  } while (0)

TEST_F(Safetensors, RoundTripKeepsNamesShapesValuesAndMetadata) {
  std::vector<float> special = {0.0f,
                                -0.0f,
                                std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity(),
                                std::numeric_limits<float>::quiet_NaN(),
                                std::numeric_limits<float>::denorm_min(),
                                1e38f,
                                -1.5f};
  const std::vector<NamedTensor> tensors = {
      {"conv1.weight", {4, 3, 3, 3}, test::random_floats(108, 1)},
      {"conv1.bias", {4}, test::random_floats(4, 2)},
      {"special", {2, 4}, special},
      {"scalar", {}, {3.25f}},
      {"empty", {0, 5}, {}},
      {"odd \"name\"\\ é", {3}, {1, 2, 3}}};
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"note", "quote \" backslash \\ newline \n tab \t é \x01"}};
  const std::string p = path("model.safetensors");
  write_safetensors(p, tensors, metadata);
  const SafetensorsFile file = read_safetensors(p);
  EXPECT_EQ(file.metadata, metadata);
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (const auto& t : tensors) {
    const NamedTensor* r = file.find(t.name);
    ASSERT_NE(r, nullptr) << t.name;
    EXPECT_EQ(r->shape, t.shape) << t.name;
    EXPECT_TRUE(test::all_identical(r->values, t.values, t.name));
  }
  EXPECT_EQ(file.find("missing"), nullptr);
  // File order is data order, which the writer takes from the input order.
  EXPECT_EQ(file.tensors.front().name, "conv1.weight");
}

TEST_F(Safetensors, HeaderIsPaddedTo8BytesAndNoTempFileIsLeft) {
  for (int n = 1; n <= 9; ++n) {  // names of every length mod 8
    const std::string p = path("m.safetensors");
    write_safetensors(p, {{std::string(static_cast<std::size_t>(n), 'w'), {2}, {1, 2}}});
    const std::string bytes = read_bytes(p);
    ASSERT_GE(bytes.size(), 8u);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i)
      header_len = header_len << 8 | static_cast<unsigned char>(bytes[i]);
    EXPECT_EQ(header_len % 8, 0u) << "name length " << n;
    EXPECT_EQ(bytes.size(), 8 + header_len + 8);
    EXPECT_EQ(bytes[8], '{');
    const std::string header = bytes.substr(8, header_len);
    EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}')) << header;
    // The data: 1.0f and 2.0f, little-endian.
    EXPECT_EQ(bytes.substr(8 + header_len), std::string("\0\0\x80\x3f\0\0\0\x40", 8));
    EXPECT_EQ(files(), std::vector<std::string>{"m.safetensors"});
  }
}

TEST_F(Safetensors, WriterRefusesBadInputAndLeavesNothing) {
  const std::string p = path("w.safetensors");
  EXPECT_THROW(write_safetensors(p, {{"a", {2, 2}, {1, 2, 3}}}), Error);
  EXPECT_THROW(write_safetensors(p, {{"a", {1}, {1}}, {"a", {1}, {2}}}), Error);
  EXPECT_THROW(write_safetensors(p, {{"__metadata__", {1}, {1}}}), Error);
  EXPECT_THROW(write_safetensors(path("no/such/folder/x.safetensors"), {{"a", {1}, {1}}}), Error);
  EXPECT_TRUE(files().empty());
}

TEST_F(Safetensors, AtomicWriteReplacesAnExistingFile) {
  const std::string p = path("f.bin");
  write_bytes(p, "old contents");
  write_file_atomically(p, std::string("new\0bytes", 9));
  EXPECT_EQ(read_bytes(p), std::string("new\0bytes", 9));
  EXPECT_EQ(files(), std::vector<std::string>{"f.bin"});
}

TEST_F(SafetensorsCorrupt, ShortAndTruncatedFiles) {
  EXPECT_CONTAINS(error_for(""), "shorter than the 8-byte header length");
  EXPECT_CONTAINS(error_for("abcde"), "5 bytes");
  EXPECT_CONTAINS(error_for(le64(uint64_t{1} << 40)), "absurd");
  EXPECT_CONTAINS(error_for(le64(~uint64_t{0}) + "{}"), "absurd");
  EXPECT_CONTAINS(error_for(le64(1000) + "{}"), "runs past the end of the file");
  const std::string good =
      file_with(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", 16);
  EXPECT_EQ(error_for(good), "");
  const std::string m = error_for(good.substr(0, good.size() - 4));
  EXPECT_CONTAINS(m, "'a'");
  EXPECT_CONTAINS(m, "run past the end of the data");
  EXPECT_CONTAINS(error_for(good.substr(0, 20)), "runs past the end of the file");
  std::string missing;
  try {
    read_safetensors(path("does-not-exist.safetensors"));
  } catch (const Error& e) {
    missing = e.what();
  }
  EXPECT_CONTAINS(missing, "cannot open");
  EXPECT_THROW(read_safetensors(folder_.string()), Error);
}

TEST_F(SafetensorsCorrupt, BadJsonSaysWhere) {
  std::string m = error_for(file_with(R"({"a": })", 0));  // '}' is header byte 6
  EXPECT_CONTAINS(m, "bad JSON at byte 14");
  EXPECT_CONTAINS(m, "expected a value");
  for (const char* header :
       {"", "{", "{\"a\":1,}", "{'a':1}", "{\"a\":[1 2]}", "{\"a\":\"x\ty\"}", "{\"a\":\"\\q\"}",
        "{\"a\":01}", "{\"a\":tru}", "{} x", "{\"a\":\"\\ud800\"}", "{\"a\":NaN}"})
    EXPECT_CONTAINS(error_for(file_with(header, 0)), "bad JSON at byte");
  m = error_for(file_with(std::string(5000, '[') + std::string(5000, ']'), 0));
  EXPECT_CONTAINS(m, "nesting deeper than 64");
  EXPECT_CONTAINS(error_for(file_with("[]", 0)), "expected the header to be a JSON object");
  m = error_for(file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{}})", 4));
  EXPECT_CONTAINS(m, "duplicate key \"a\"");
}

TEST_F(SafetensorsCorrupt, BadTensorEntries) {
  auto entry = [](const std::string& body) { return "{\"t\":{" + body + "}}"; };
  std::string m =
      error_for(file_with(entry(R"("dtype":"F16","shape":[2],"data_offsets":[0,4])"), 4));
  EXPECT_CONTAINS(m, "tensor 't'");
  EXPECT_CONTAINS(m, "F16");
  m = error_for(file_with(entry(R"("dtype":"F32","shape":[2,2],"data_offsets":[0,12])"), 12));
  EXPECT_CONTAINS(m, "needs 16 bytes");
  m = error_for(file_with(entry(R"("dtype":"F32","shape":[-1],"data_offsets":[0,4])"), 4));
  EXPECT_CONTAINS(m, "non-negative integer");
  m = error_for(file_with(entry(R"("dtype":"F32","shape":[1.5],"data_offsets":[0,4])"), 4));
  EXPECT_CONTAINS(m, "non-negative integer");
  m = error_for(file_with(entry(R"("dtype":"F32","shape":[1],"data_offsets":[4,0])"), 4));
  EXPECT_CONTAINS(m, "end before they begin");
  m = error_for(file_with(entry(R"("dtype":"F32","shape":[1],"data_offsets":[0])"), 4));
  EXPECT_CONTAINS(m, "[begin, end]");
  m = error_for(file_with(entry(R"("dtype":"F32","shape":[1])"), 4));
  EXPECT_CONTAINS(m, "data_offsets");
  m = error_for(file_with(entry(R"("dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1)"), 4));
  EXPECT_CONTAINS(m, "unexpected key 'x'");
  m = error_for(file_with(
      entry(R"("dtype":"F32","shape":[99999999999,99999999999],"data_offsets":[0,4])"), 4));
  EXPECT_CONTAINS(m, "absurdly large");
  // 2^62 elements need 2^64 bytes, which wrapped to 0 and matched data_offsets [0, 0]
  // (found by fuzz/fuzz_safetensors' check that a tensor holds numel values).
  for (const char* shape :
       {"[4611686018427387904]", "[2147483648,2147483648]", "[1152921504606846977]"}) {
    m = error_for(file_with(
        entry(std::string(R"("dtype":"F32","shape":)") + shape + R"(,"data_offsets":[0,0])"), 0));
    EXPECT_CONTAINS(m, "absurdly large: expected at most 2^60 elements");
  }
  m = error_for(file_with(R"({"t":[1]})", 0));
  EXPECT_CONTAINS(m, "expected an object");
  m = error_for(file_with(R"({"__metadata__":{"k":1}})", 0));
  EXPECT_CONTAINS(m, "__metadata__ value 'k'");
}

TEST_F(SafetensorsCorrupt, OffsetsMustTileTheData) {
  const std::string two = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[BEGIN,END]}})";
  auto with = [&](const char* begin, const char* end) {
    std::string h = two;
    h.replace(h.find("BEGIN"), 5, begin);
    h.replace(h.find("END"), 3, end);
    return h;
  };
  EXPECT_EQ(error_for(file_with(with("8", "16"), 16)), "");
  EXPECT_CONTAINS(error_for(file_with(with("4", "12"), 16)), "overlap");
  EXPECT_CONTAINS(error_for(file_with(with("12", "20"), 20)), "belong to no tensor");
  EXPECT_CONTAINS(error_for(file_with(with("8", "16"), 20)), "belong to no tensor");
  EXPECT_CONTAINS(error_for(file_with(with("16", "24"), 16)), "run past the end of the data");
}

}  // namespace
}  // namespace cudp
