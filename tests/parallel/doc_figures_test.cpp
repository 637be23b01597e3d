// docs/data-parallel.md's byte figures against what the tracer records.
//
// The doc's table between <!-- figures:begin --> and <!-- figures:end --> has
// rows | mode | phase | formula | bytes |. This test runs one DP step and two
// DDP steps of seed-pool on 3x32x32 over cpu:4 with batch 32, sums the bytes of
// the trace's copy events by phase, and fails unless every row of the doc
// equals them and every phase the trace shows has a row.
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/parallel/fixtures.h"

namespace cudp {
namespace {

const Shape kSeedInput{3, 32, 32};

std::string read_doc() {
  std::ifstream in(std::string(CUDP_SOURCE_DIR) + "/docs/data-parallel.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

// {"dp/scatter": 393344, ...} from the doc's figures table.
std::map<std::string, int64_t> doc_figures(const std::string& doc) {
  std::map<std::string, int64_t> figures;
  const size_t begin = doc.find("<!-- figures:begin -->");
  const size_t end = doc.find("<!-- figures:end -->");
  if (begin == std::string::npos || end == std::string::npos) return figures;
  std::istringstream table(doc.substr(begin, end - begin));
  for (std::string line; std::getline(table, line);) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, '|');) {
      const size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
      cells.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
    }
    if (cells.size() < 5 || (cells[1] != "dp" && cells[1] != "ddp")) continue;
    std::string digits;
    for (char c : cells[4])
      if (c != ',') digits += c;
    figures[cells[1] + "/" + cells[2]] = std::stoll(digits);
  }
  return figures;
}

// Bytes moved by phase (copies and the buckets' in-place peer adds), from the
// tracer of a run of `steps` steps.
std::map<std::string, int64_t> traced_bytes(ParallelMode m, int steps, int64_t* params) {
  const auto batches = test::make_batches(steps, 32, 81, kSeedInput);
  DeviceGroup group(test::cpus(4), 0);
  Tracer tracer({"0", "1", "2", "3"});
  ParallelOptions options = test::mode(m);
  options.tracer = &tracer;
  auto trainer =
      make_parallel_trainer(group, test::small_factory(kSeedInput), test::test_sgd(), options);
  for (const auto& b : batches) trainer->step(b.x.data(), b.y.data(), b.size());
  *params = trainer->net().param_count();
  std::map<std::string, int64_t> bytes;
  for (const TraceRecord& r : tracer.records())
    if (r.name == "copy" || r.name == "peer_add") bytes[r.args.phase] += r.args.bytes;
  return bytes;
}

TEST(DocFigures, EveryByteFigureIsWhatTheTracerRecords) {
  const std::string doc = read_doc();
  ASSERT_FALSE(doc.empty()) << "docs/data-parallel.md not found under " << CUDP_SOURCE_DIR;
  const auto figures = doc_figures(doc);
  ASSERT_EQ(figures.size(), 10u) << "the doc's figures table lost rows";

  int64_t params = 0;
  std::map<std::string, int64_t> measured;
  int64_t dp_total = 0;
  for (const auto& [phase, bytes] : traced_bytes(ParallelMode::DataParallel, 1, &params)) {
    measured["dp/" + phase] = bytes;
    dp_total += bytes;
  }
  measured["dp/total"] = dp_total;
  // DDP: two steps; the broadcast happens once, everything else twice.
  int64_t ddp_total = 0;
  for (const auto& [phase, bytes] : traced_bytes(ParallelMode::Distributed, 2, &params)) {
    const bool once = phase == "broadcast";
    measured["ddp/" + phase] = once ? bytes : bytes / 2;
    if (!once) ddp_total += bytes / 2;
  }
  measured["ddp/total"] = ddp_total;

  EXPECT_EQ(figures, measured);
  const std::string p = "**P = " + with_commas(params) + " parameters**";
  const std::string bytes = "**4P = " + with_commas(4 * params) + " bytes**";
  EXPECT_NE(doc.find(p), std::string::npos) << p;
  EXPECT_NE(doc.find(bytes), std::string::npos) << bytes;
}

}  // namespace
}  // namespace cudp
