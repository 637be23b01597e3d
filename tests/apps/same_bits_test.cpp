// The checkpoints of fourteen short runs keep the bits recorded with an older binary.
//
// tests/apps/same_bits.py holds the runs (one device; dp and ddp over cpu:2, 3
// and 4; tree and star; uneven shards and an idle device; --edge copy; another
// output device; Nesterov with weight decay; a resumed run) and records their
// checksums into same_bits.txt with a given binary. This test parses the runs
// from that script's text, trains each in-process and compares the checksum
// of the model and of the optimizer file (FNV-1a over each tensor in name
// order: its name, then its float32 bytes). A redesign that changes a
// summation order fails here, naming the run.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io/safetensors.h"
#include "tests/common/cli_run.h"
#include "tests/common/test_files.h"

namespace cudp {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  const auto end = s.find_last_not_of(" \t");
  return begin == std::string::npos ? "" : s.substr(begin, end - begin + 1);
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The text between `open` and the next `close` after it.
std::string between(const std::string& text, const std::string& open, const std::string& close) {
  const auto begin = text.find(open);
  if (begin == std::string::npos) return "";
  const auto from = begin + open.size();
  return text.substr(from, text.find(close, from) - from);
}

struct RecordedRun {
  std::string name;
  std::vector<std::string> flags;
  int resume_at = 0;
};

std::vector<RecordedRun> runs(const std::string& script) {
  std::vector<RecordedRun> out;
  std::istringstream lines(between(script, "RUNS = \"\"\"", "\"\"\""));
  for (std::string line; std::getline(lines, line);) {
    if (trim(line).empty()) continue;
    const auto bar = line.find('|'), bar2 = line.rfind('|');
    out.push_back({trim(line.substr(0, bar)), words(line.substr(bar + 1, bar2 - bar - 1)),
                   std::stoi(trim(line.substr(bar2 + 1)))});
  }
  return out;
}

std::string checksum(const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  std::map<std::string, const NamedTensor*> by_name;
  for (const NamedTensor& t : file.tensors) by_name[t.name] = &t;
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  };
  for (const auto& [name, t] : by_name) {
    mix(name.data(), name.size());
    mix(t->values.data(), t->values.size() * sizeof(float));
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

using SameBits = test::ScratchFolder;

TEST_F(SameBits, EveryRecordedRunGivesTheRecordedCheckpoint) {
  const std::string folder = std::string(CUDP_SOURCE_DIR) + "/tests/apps/";
  const std::string script = read_text(folder + "same_bits.py");
  std::string common_text = between(script, "COMMON = (", ")");  // two string literals
  common_text.erase(std::remove(common_text.begin(), common_text.end(), '"'), common_text.end());
  const std::vector<std::string> common = words(common_text);
  ASSERT_FALSE(common.empty()) << "COMMON not found in same_bits.py";
  const std::vector<RecordedRun> all = runs(script);
  ASSERT_EQ(all.size(), 14u) << "same_bits.py's RUNS lost or gained a line";
  std::map<std::string, std::vector<std::string>> recorded;
  std::istringstream table(read_text(folder + "same_bits.txt"));
  for (std::string line; std::getline(table, line);)
    if (!trim(line).empty()) recorded[words(line)[0]] = words(line);
  for (const RecordedRun& run : all) {
    SCOPED_TRACE(run.name);
    std::vector<std::string> args = {"train"};
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), run.flags.begin(), run.flags.end());
    const std::string out = path(run.name + ".safetensors");
    if (run.resume_at) {
      const std::string first = path(run.name + "-first.safetensors");
      std::vector<std::string> saving = args;
      for (const std::string& a : {std::string("--save"), first, std::string("--save-every"),
                                   std::to_string(run.resume_at)})
        saving.push_back(a);
      ASSERT_EQ(test::cli(saving).status, 0);
      args.push_back("--resume");
      args.push_back(path(run.name + "-first.step" + std::to_string(run.resume_at) +
                          ".safetensors"));
    }
    args.push_back("--save");
    args.push_back(out);
    const test::CliRun result = test::cli(args);
    ASSERT_EQ(result.status, 0) << result.err;
    ASSERT_EQ(recorded.count(run.name), 1u) << "no recorded checksum for " << run.name;
    const std::vector<std::string>& want = recorded[run.name];
    ASSERT_EQ(want.size(), 3u);
    EXPECT_EQ(checksum(out), want[1]) << run.name << ": the model's tensors changed";
    EXPECT_EQ(checksum(path(run.name + ".optim.safetensors")), want[2])
        << run.name << ": the optimizer's tensors changed";
  }
}

}  // namespace
}  // namespace cudp
