// apps/explain.h over records written by hand (rows, step cuts, the hidden
// share), and over real traced steps of seed-pool, batch 32, on cpu:2 and
// cpu:4, dp and ddp, default and --textbook: bytes, copies and edges (never
// times) against figures derived here from the model and the reduce order:
//   P = 3*64*9+64 + 64*64*9+64 + 4096*512+512 + 512*10+10 = 2,141,514 floats,
//   a reduce edge of the tree (or star) moves the whole buffer, 4P bytes;
//   a broadcast too, except a bucket on the Parts route (fc1's, 4*(4096*512+512)
//   bytes, and ddp's first whole-buffer broadcast, on CPU devices): it goes
//   from device 0 straight to every other, one slice per device copying it;
//   a sample is 3x32x32 floats, a label 4 bytes, a logit row 10 floats.
// docs/data-parallel.md's 51,792,240 (dp, cpu:4), 77,487,848 (ddp, cpu:4,
// first step) and 51,789,680 (after) are checked as the formulas' values.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <gtest/gtest.h>

#include "apps/explain.h"
#include "apps/explain_run.h"
#include "parallel/process_group.h"
#include "parallel/reduce_diagram.h"
#include "parallel/reduce_order.h"
#include "tests/common/cli_run.h"

namespace cudp {
namespace {

constexpr int64_t kP = 3 * 64 * 9 + 64 + 64 * 64 * 9 + 64 + 4096 * 512 + 512 + 512 * 10 + 10;
constexpr int64_t kBuffer = 4 * kP;
constexpr int64_t kSample = 3 * 32 * 32 * 4;
constexpr int64_t kBatch = 32;
constexpr int64_t kLogits = 10 * 4;
constexpr int64_t kFc1 = 4 * (4096 * 512 + 512);

TraceRecord record(int rank, Lane lane, const char* name, double begin, double end,
                   TraceArgs args = {}) {
  TraceRecord r;
  r.rank = rank;
  r.lane = lane;
  r.name = name;
  r.begin_us = begin;
  r.end_us = end;
  r.args = args;
  return r;
}

TEST(Explain, RowsCountWhatTheRecordsSay) {
  const std::vector<TraceRecord> step{
      record(0, Lane::Host, "enqueue", 0, 100),
      record(0, Lane::Copy, "copy", 0, 100, {400, -1, 0, "scatter"}),
      record(0, Lane::Compute, "forward/conv1", 100, 1100),
      record(1, Lane::Compute, "forward/conv1", 100, 1100),
      // 1 -> 0, run by 1's copy stream, half hidden behind 1's forward
      record(1, Lane::Copy, "peer_add", 600, 1600, slice_args(2, 0, 100, 1, 0, "reduce")),
      // the same edge, a slice run by 0's compute stream, and an add (--edge copy)
      record(0, Lane::Compute, "peer_add", 1600, 1700, slice_args(2, 100, 50, 1, 0, "reduce")),
      record(0, Lane::Copy, "add", 1700, 1800, slice_args(2, 100, 50, 1, 0, "reduce", false)),
      record(0, Lane::Copy, "sgd", 1800, 2000),
      record(0, Lane::Compute, "join", 1000, 2000),  // a wait: no row
      record(0, Lane::Host, "sync", 100, 2000),
  };
  const StepExplanation e = explain_step(step, 3);
  EXPECT_EQ(e.step, 3);
  EXPECT_DOUBLE_EQ(e.step_ms, 2.0);
  EXPECT_EQ(e.bytes, 400 + 400 + 200);
  EXPECT_EQ(e.copies, 3);
  EXPECT_EQ(e.adds, 1);
  std::vector<std::string> phases;
  for (const ExplainRow& r : e.phases) phases.push_back(r.phase);
  EXPECT_EQ(phases, (std::vector<std::string>{"scatter", "forward", "reduce", "sgd"}));
  const ExplainRow& forward = e.phases[1];
  EXPECT_EQ(forward.events, 2);
  EXPECT_EQ(forward.copies, 0);
  EXPECT_DOUBLE_EQ(forward.ms, 1.0);  // two lanes at once count once
  const ExplainRow& reduce = e.phases[2];
  EXPECT_EQ(reduce.bytes, 600);
  EXPECT_EQ(reduce.copies, 2);
  EXPECT_EQ(reduce.adds, 1);
  EXPECT_DOUBLE_EQ(reduce.ms, 1.2);
  const std::map<std::pair<int, Lane>, int> run_by{
      {{0, Lane::Compute}, 1}, {{0, Lane::Copy}, 1}, {{1, Lane::Copy}, 1}};
  EXPECT_EQ(reduce.run_by, run_by);
  ASSERT_EQ(e.edges.size(), 2u);
  EXPECT_EQ(e.edges[0].phase, "scatter");
  EXPECT_EQ(e.edges[0].src, -1);
  EXPECT_EQ(e.edges[1].src, 1);
  EXPECT_EQ(e.edges[1].dst, 0);
  EXPECT_EQ(e.edges[1].bytes, 600);
  // Movement: 600..1800 (the host's scatter is not between devices). Exposed:
  // device 1's 1100..1600 (its forward ended), device 0's 1600..1800 (no
  // compute of 0 then: the sgd starts at 1800).
  EXPECT_DOUBLE_EQ(e.movement_ms, 1.2);
  EXPECT_DOUBLE_EQ(e.exposed_ms, 0.7);
  EXPECT_NEAR(e.hidden_share(), 0.5 / 1.2, 1e-12);
  const std::string tables = explanation_tables(e);
  EXPECT_NE(
      tables.find("| reduce | 1 -> 0 | 600 | 2 | 1 | 0 compute (1), 0 copy (1), 1 copy (1) |"),
      std::string::npos)
      << tables;
  EXPECT_NE(tables.find("| total | 1,000 | 3 | 1 |"), std::string::npos) << tables;
  // Device 0 received the scatter and both slices, moved its scatter and one slice.
  ASSERT_EQ(e.devices.size(), 2u);
  EXPECT_EQ(e.devices.at(0).received, 1000);
  EXPECT_EQ(e.devices.at(0).sent, 0);
  EXPECT_EQ(e.devices.at(0).moved, 600);
  EXPECT_EQ(e.devices.at(0).copies_run, 2);
  EXPECT_EQ(e.devices.at(1).sent, 600);
  EXPECT_EQ(e.devices.at(1).moved, 400);
  EXPECT_NE(tables.find("| 0 | 1,000 | 0 | 600 | 2 |"), std::string::npos) << tables;
}

TEST(Explain, StepsEndAtEachHostSync) {
  const std::vector<TraceRecord> records{
      record(0, Lane::Host, "enqueue", 0, 10),  record(0, Lane::Compute, "loss", 5, 20),
      record(0, Lane::Host, "sync", 10, 30),    record(0, Lane::Host, "enqueue", 30, 40),
      record(0, Lane::Compute, "loss", 31, 50), record(0, Lane::Host, "sync", 40, 60),
  };
  const auto steps = split_steps(records);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].size(), 3u);
  EXPECT_EQ(steps[1].size(), 3u);  // the second enqueue starts exactly at the first sync's end
  EXPECT_EQ(steps[1].front().begin_us, 30);
}

// A traced run of `steps` steps with `flags`, cut into steps.
std::vector<StepExplanation> explained(std::vector<std::string> flags, int steps) {
  flags.insert(flags.end(), {"--threads", "1"});
  const TrainConfig c = parse_train_config(flags, nullptr, Launch{}, "cudp explain");
  const TracedRun run = run_traced_steps(c, steps);
  EXPECT_EQ(run.parameters, kP);
  std::vector<StepExplanation> out;
  const auto cut = split_steps(run.records);
  EXPECT_EQ(static_cast<int>(cut.size()), steps);
  for (std::size_t s = 0; s < cut.size(); ++s)
    out.push_back(explain_step(cut[s], static_cast<int>(s) + 1));
  return out;
}

using EdgeBytes = std::map<std::tuple<std::string, int, int>, int64_t>;  // (phase, src, dst)

EdgeBytes edge_bytes(const StepExplanation& e) {
  EdgeBytes out;
  for (const ExplainRow& r : e.edges) out[{r.phase, r.src, r.dst}] = r.bytes;
  return out;
}

// The edges of a reduce, each 4P bytes (src, dst).
void add_reduce(EdgeBytes* out, const std::string& phase, int n, ReduceAlgorithm algorithm) {
  for (const auto& level : reduce_levels(n, algorithm))
    for (const Edge& e : level) (*out)[{phase, e.from, e.to}] += kBuffer;
}

// A broadcast: `parts` bytes from device 0 straight to each other device, the
// rest of the buffer along the broadcast's edges.
void add_broadcast(EdgeBytes* out, const std::string& phase, int n, ReduceAlgorithm algorithm,
                   int64_t parts) {
  for (const auto& level : broadcast_levels(n, algorithm))
    for (const Edge& e : level) (*out)[{phase, e.from, e.to}] += kBuffer - parts;
  for (int r = 1; r < n && parts > 0; ++r) (*out)[{phase, 0, r}] += parts;
  for (auto it = out->begin(); it != out->end();)  // a tree edge that carries only fc1's parts
    it = it->second == 0 ? out->erase(it) : std::next(it);
}

// The scatter's edges: host -> r, r's samples, and labels (dp: all to device 0).
void add_scatter(EdgeBytes* out, int n, bool labels_everywhere) {
  for (int r = 0; r < n; ++r)
    (*out)[{"scatter", -1, r}] = kBatch / n * kSample + (labels_everywhere ? kBatch / n * 4
                                                         : r == 0          ? kBatch * 4
                                                                           : 0);
}

// `parts`: fc1's bucket goes in parts (the default on CPU devices), not --textbook.
EdgeBytes dp_edges(int n, ReduceAlgorithm algorithm, bool parts) {
  EdgeBytes out;
  add_scatter(&out, n, false);
  add_broadcast(&out, "broadcast", n, algorithm, parts ? kFc1 : 0);
  add_reduce(&out, "reduce", n, algorithm);
  for (int r = 0; r < n; ++r) {
    out[{"gather", r, 0}] = kBatch / n * kLogits;  // device 0's own shard too
    out[{"scatter_grad", 0, r}] = kBatch / n * kLogits;
  }
  return out;
}

// The first step's broadcast is the whole buffer in parts: all of it from 0.
EdgeBytes ddp_edges(int n, bool first, bool parts) {
  EdgeBytes out;
  add_scatter(&out, n, true);
  if (first) add_broadcast(&out, "broadcast", n, ReduceAlgorithm::Tree, kBuffer);
  add_reduce(&out, "all_reduce", n, ReduceAlgorithm::Tree);
  add_broadcast(&out, "all_reduce", n, ReduceAlgorithm::Tree, parts ? kFc1 : 0);
  return out;
}

int64_t total(const EdgeBytes& edges) {
  int64_t sum = 0;
  for (const auto& [edge, bytes] : edges) sum += bytes;
  return sum;
}

TEST(Explain, TheDocsCpu4FiguresAreTheFormulas) {
  for (bool parts : {false, true}) {
    EXPECT_EQ(total(dp_edges(4, ReduceAlgorithm::Tree, parts)), 51'792'240);
    EXPECT_EQ(total(ddp_edges(4, true, parts)), 77'487'848);
    EXPECT_EQ(total(ddp_edges(4, false, parts)), 51'789'680);
  }
  // The "rank 2 relays 175,400 bytes": the buckets other than fc1's.
  EXPECT_EQ((dp_edges(4, ReduceAlgorithm::Tree, true)[{"broadcast", 2, 3}]), 175'400);
}

// Copies and adds by phase: {copies, adds}.
std::map<std::string, std::pair<int, int>> counts(const StepExplanation& e) {
  std::map<std::string, std::pair<int, int>> out;
  for (const ExplainRow& r : e.phases)
    if (r.copies || r.adds) out[r.phase] = {r.copies, r.adds};
  return out;
}

// seed-pool's buckets: conv1, conv2, fc1, fc2; fc1 goes in one part per device
// (the Parts route, CPU devices), the others whole. Reduce: 3 + N copies per
// tree edge. Broadcast: 3 per tree edge, and N per edge from device 0 to each
// other: (N - 1)(3 + N) as well.
TEST(Explain, DataParallelEdgesAndCopies) {
  for (int n : {2, 4}) {
    const auto steps = explained({"--devices", "cpu:" + std::to_string(n)}, 2);
    const StepExplanation& e = steps.back();
    EXPECT_EQ(edge_bytes(e), dp_edges(n, ReduceAlgorithm::Tree, true)) << "cpu:" << n;
    EXPECT_EQ(e.bytes, total(dp_edges(n, ReduceAlgorithm::Tree, true)));
    if (n == 4) {
      EXPECT_EQ(e.bytes, 51'792'240);  // docs/data-parallel.md's figure
    }
    const int edges = n - 1;
    const std::map<std::string, std::pair<int, int>> expected{
        {"scatter", {n + 1, 0}},  // samples to each, labels to device 0
        {"broadcast", {edges * (3 + n), 0}},
        {"gather", {n, 0}},
        {"scatter_grad", {n, 0}},
        {"reduce", {edges * (3 + n), 0}}};  // peer_adds
    EXPECT_EQ(counts(e), expected) << "cpu:" << n;
  }
}

// nn.DataParallel: one whole-buffer bucket, star, each reduce edge copied in
// chunks of 1 MiB into scratch and added: ceil(4P / 2^20) copies and adds.
TEST(Explain, TextbookDataParallelEdgesAndCopies) {
  const int chunks = static_cast<int>((kBuffer + (1 << 20) - 1) >> 20);
  for (int n : {2, 4}) {
    const auto steps = explained({"--devices", "cpu:" + std::to_string(n), "--textbook"}, 2);
    const StepExplanation& e = steps.back();
    EXPECT_EQ(edge_bytes(e), dp_edges(n, ReduceAlgorithm::Star, false)) << "cpu:" << n;
    const int edges = n - 1;
    const std::map<std::string, std::pair<int, int>> expected{
        {"scatter", {n + 1, 0}},
        {"broadcast", {edges, 0}},
        {"gather", {n, 0}},
        {"scatter_grad", {n, 0}},
        {"reduce", {edges * chunks, edges * chunks}}};
    EXPECT_EQ(counts(e), expected) << "cpu:" << n;
  }
}

TEST(Explain, DistributedEdgesAndCopies) {
  for (int n : {2, 4}) {
    const auto steps = explained({"--devices", "cpu:" + std::to_string(n), "--parallel", "ddp"}, 2);
    EXPECT_EQ(edge_bytes(steps[0]), ddp_edges(n, true, true)) << "cpu:" << n;
    EXPECT_EQ(edge_bytes(steps[1]), ddp_edges(n, false, true)) << "cpu:" << n;
    EXPECT_EQ(steps[1].bytes, total(ddp_edges(n, false, true)));
    if (n == 4) {  // docs/data-parallel.md's figures
      EXPECT_EQ(steps[0].bytes, 77'487'848);
      EXPECT_EQ(steps[1].bytes, 51'789'680);
    }
    const int edges = n - 1;
    const std::map<std::string, std::pair<int, int>> expected{
        {"scatter", {2 * n, 0}},                    // samples and labels to each
        {"all_reduce", {2 * edges * (3 + n), 0}}};  // reduce peer_adds, broadcast copies
    EXPECT_EQ(counts(steps[1]), expected) << "cpu:" << n;
    // The first step's broadcast: the whole buffer as one bucket in n parts,
    // from device 0 to each other device.
    EXPECT_EQ(counts(steps[0])["broadcast"], std::make_pair(edges * n, 0)) << "cpu:" << n;
  }
}

// DDP's reducer: 2 buckets for seed-pool at 25 MiB (fc2 and fc1 first, then the
// convolutions), all-reduced whole: one copy per edge per bucket each way.
TEST(Explain, TextbookDistributedEdgesAndCopies) {
  for (int n : {2, 4}) {
    const auto steps =
        explained({"--devices", "cpu:" + std::to_string(n), "--parallel", "ddp", "--textbook"}, 2);
    EXPECT_EQ(edge_bytes(steps[1]), ddp_edges(n, false, false)) << "cpu:" << n;
    const int edges = n - 1;
    const std::map<std::string, std::pair<int, int>> expected{{"scatter", {2 * n, 0}},
                                                              {"all_reduce", {2 * edges * 2, 0}}};
    EXPECT_EQ(counts(steps[1]), expected) << "cpu:" << n;
  }
}

TEST(Explain, TheCommandPrintsTheTreeAndTheTables) {
  const test::CliRun r =
      test::cli({"explain", "--devices", "cpu:2", "--parallel", "ddp", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* line :
       {"  steps     3 run; step 3 explained, the last", "  level 0:  0 <- 1\n",
        "| all_reduce | 0 -> 1 | 8,566,056 |", "| all_reduce | 1 -> 0 | 8,566,056 |",
        "| total | 17,525,456 |", "  hidden  "})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
}

// Rank 0 of two; explain never talks to the other rank.
class TwoRanks final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string host() const override { return "here"; }
  std::vector<std::string> all_gather(const std::string& mine) override { return {mine, mine}; }
  void exchange(const std::vector<Transfer>&) override {}
  void all_reduce_sum(float*, std::size_t) override {}
  [[noreturn]] void abort(int) override { throw Error("abort: every rank finds this error"); }
};

TEST(Explain, UnderMpirunEveryRankRefusesItWithoutAborting) {
  TwoRanks ranks;
  std::ostringstream out, err;
  EXPECT_EQ(run_cli({"explain", "--devices", "cpu:2"}, out, err, ranks), 1);
  EXPECT_EQ(err.str().rfind("rank 0: cudp explain: error: refused under mpirun", 0), 0u)
      << err.str();
  EXPECT_NE(err.str().find("cudp explain --devices cpu:N"), std::string::npos) << err.str();
  EXPECT_EQ(out.str(), "");
}

TEST(Explain, BadFlagsGetTrainsErrorsAndKeptOutputsAreRefused) {
  const test::CliRun unknown = test::cli({"explain", "--bogus"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_EQ(unknown.err, "cudp explain: error: cudp explain: unknown flag --bogus (see --help)\n");
  const test::CliRun devices = test::cli({"explain", "--devices", "cpu:0"});
  EXPECT_EQ(devices.status, 1);
  EXPECT_NE(devices.err.find("--devices"), std::string::npos) << devices.err;
  for (const char* flag :
       {"--save=w.safetensors", "--epochs", "--log", "--resume", "--log-every"}) {
    const test::CliRun r = test::cli({"explain", flag, "1"});
    EXPECT_EQ(r.status, 1) << flag;
    EXPECT_NE(r.err.find("cudp explain"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  const test::CliRun help = test::cli({"explain", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--steps VALUE"), std::string::npos);
  EXPECT_NE(help.out.find("(default: 3)"), std::string::npos);
  EXPECT_EQ(help.out.find("--save VALUE"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("exposed   the step's comm"), std::string::npos) << help.out;
}

std::string read_doc() {
  std::ifstream in(std::string(CUDP_SOURCE_DIR) + "/docs/data-parallel.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string indented(const std::string& text) {
  std::istringstream lines(text);
  std::string out;
  for (std::string line; std::getline(lines, line);) out += "    " + line + "\n";
  return out;
}

TEST(Explain, DocTreesAreTheDiagrams) {
  const std::string doc = read_doc();
  ASSERT_FALSE(doc.empty()) << "docs/data-parallel.md not found under " << CUDP_SOURCE_DIR;
  for (int n : {4, 3}) {
    const std::string tree = indented(reduce_diagram(n, ReduceAlgorithm::Tree));
    EXPECT_NE(doc.find(tree), std::string::npos) << "the doc lost the tree of " << n << ":\n"
                                                 << tree;
  }
}

// The output without its times: lines that state one dropped, and in table
// rows the cells that are a time or a share ("1.46", "2.3%": digits and a dot).
std::vector<std::string> untimed_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" ms") != std::string::npos || line.rfind("  hidden", 0) == 0) continue;
    if (line.rfind("|", 0) == 0) {
      std::string kept;
      std::stringstream row(line);
      for (std::string cell; std::getline(row, cell, '|');) {
        const bool time = cell.find('.') != std::string::npos &&
                          cell.find_first_not_of(" 0123456789.%") == std::string::npos;
        if (!time) kept += cell + "|";
      }
      line = kept;
    }
    out.push_back(line);
  }
  return out;
}

TEST(Explain, DocOutputMatchesAFreshRun) {
  const std::string doc = read_doc();
  const std::string begin = "<!-- explain:begin -->\n```text\n", end = "```\n<!-- explain:end -->";
  const std::size_t from = doc.find(begin), to = doc.find(end);
  ASSERT_NE(from, std::string::npos) << "docs/data-parallel.md lost its explain:begin block";
  ASSERT_NE(to, std::string::npos);
  const std::string pasted = doc.substr(from + begin.size(), to - from - begin.size());
  const test::CliRun r =
      test::cli({"explain", "--devices", "cpu:2", "--parallel", "ddp", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto want = untimed_lines(pasted), got = untimed_lines(r.out);
  EXPECT_GT(want.size(), 30u);
  EXPECT_EQ(want, got) << "paste a fresh `cudp explain --devices cpu:2 --parallel ddp --threads "
                          "1` into docs/data-parallel.md:\n"
                       << r.out;
}

}  // namespace
}  // namespace cudp
