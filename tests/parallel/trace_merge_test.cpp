// Trace merge (parallel/trace_merge.h) on rank traces that real Tracers write:
// two ranks (one device, then two) merge into one trace with pids 0..2 in rank
// order, every event kept; each bad input (a missing, repeated or foreign
// rank, a trace of one process, a merged trace, bad JSON, a file that cannot
// be read, devices out of order, an event of another rank, a private origin)
// is refused naming the file, and the output is then neither written nor
// touched; `cudp trace merge` says so in one line and exits 1.
#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "io/json.h"
#include "parallel/trace.h"
#include "parallel/trace_merge.h"
#include "runtime/stream.h"
#include "tests/common/cli_run.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_files.h"

namespace cudp {
namespace {

const json::Value* member(const json::Value& object, const std::string& key) {
  for (const auto& [k, v] : object.members)
    if (k == key) return &v;
  return nullptr;
}

// Rank `rank` of `ranks` with `devices` cpu devices from global `first`: a step per device.
std::string rank_trace(int rank, int ranks, int first, int devices, bool shared_origin = true) {
  TraceProcess process{rank, ranks, concat("host", rank), first, {}};
  for (int d = 0; d < devices; ++d) process.devices.push_back(concat("cpu:", d));
  Tracer tracer(process);
  if (shared_origin) tracer.set_origin(host_microseconds());
  Stream stream(cpu_device(0));
  for (int d = 0; d < devices; ++d) {
    TimeMark begin = stream.mark();
    stream.enqueue([] {});
    tracer.span(d, Lane::Compute, "step", begin, stream.mark());
  }
  stream.synchronize();
  return tracer.json();
}

class TraceMerge : public test::ScratchFolder {
 protected:
  std::string file(const std::string& name, const std::string& text) {
    write_bytes(path(name), text);
    return path(name);
  }
  // The two good inputs: rank 0 holds global device 0, rank 1 devices 1 and 2.
  std::string rank0() { return file("run.rank0.json", rank_trace(0, 2, 0, 1)); }
  std::string rank1() { return file("run.rank1.json", rank_trace(1, 2, 1, 2)); }
  // The error of merging `inputs` into out.json, after checking nothing was written.
  std::string refused(const std::vector<std::string>& inputs) {
    const std::string message =
        test::error_of([&] { merge_trace_files(inputs, path("out.json")); });
    EXPECT_FALSE(std::filesystem::exists(path("out.json"))) << message;
    return message;
  }
};

TEST_F(TraceMerge, TwoRanksBecomeOneTraceWithALanePerDeviceInRankOrder) {
  const std::string a = rank0(), b = rank1();
  const MergedTrace merged = merge_trace_files({b, a}, path("out.json"));  // any order
  EXPECT_EQ(merged.ranks, 2);
  EXPECT_EQ(merged.devices, 3);
  // Per device: a process name, a sort index, three thread names and one step;
  // each rank's first device has a host lane too.
  EXPECT_EQ(merged.events, 3u * 6u + 2u);
  const json::Value root = json::parse(read_bytes(path("out.json")), "out.json");
  EXPECT_EQ(member(root, "cudp")->members.size(), 3u);
  std::vector<uint64_t> pids;  // in file order
  std::map<uint64_t, std::string> names;
  std::map<uint64_t, uint64_t> sort_index;
  std::set<uint64_t> stepped;
  for (const json::Value& e : member(root, "traceEvents")->items) {
    uint64_t pid = 0;
    ASSERT_TRUE(member(e, "pid")->as_uint64(&pid));
    pids.push_back(pid);
    const std::string name = member(e, "name")->text;
    const json::Value* args = member(e, "args");
    if (name == "process_name") names[pid] = member(*args, "name")->text;
    if (name == "process_sort_index") member(*args, "sort_index")->as_uint64(&sort_index[pid]);
    if (name == "step") stepped.insert(pid);
  }
  std::vector<int> ranks;  // rank 0 holds pid 0, rank 1 pids 1 and 2
  for (uint64_t pid : pids) ranks.push_back(pid == 0 ? 0 : 1);
  EXPECT_TRUE(std::is_sorted(ranks.begin(), ranks.end())) << "rank 0's events first";
  EXPECT_EQ(names,
            (std::map<uint64_t, std::string>{{0, "rank 0 \u00b7 device 0 (cpu:0) \u00b7 host0"},
                                             {1, "rank 1 \u00b7 device 1 (cpu:0) \u00b7 host1"},
                                             {2, "rank 1 \u00b7 device 2 (cpu:1) \u00b7 host1"}}));
  EXPECT_EQ(sort_index, (std::map<uint64_t, uint64_t>{{0, 0}, {1, 1}, {2, 2}}));
  EXPECT_EQ(stepped, (std::set<uint64_t>{0, 1, 2}));
}

TEST_F(TraceMerge, AMissingRankIsNamed) {
  test::expect_parts(refused({rank1()}),
                     {"expected ranks 0..1, one file each", "no file of rank 0", "run.rank1.json"});
}

TEST_F(TraceMerge, ARepeatedRankNamesBothFiles) {
  const std::string copy = file("copy.json", rank_trace(1, 2, 1, 2));
  test::expect_parts(
      refused({rank0(), rank1(), copy}),
      {"expected each rank 0..1 once, found rank 1 again", "run.rank1.json", "copy.json"});
}

TEST_F(TraceMerge, AnotherRunsRanksCountIsRefused) {
  const std::string three = file("three.json", rank_trace(2, 3, 3, 1));
  test::expect_parts(refused({rank0(), rank1(), three}),
                     {"three.json: expected a run of 2 ranks", "found 3 ranks"});
}

TEST_F(TraceMerge, ATraceOfOneProcessIsNotARankTrace) {
  Tracer alone({"rank 0 (cpu:0)"});
  const std::string one = file("one.json", alone.json());
  test::expect_parts(refused({one}), {"one.json: expected a cudp rank trace", "found none"});
  test::expect_parts(refused({file("list.json", "[1]")}), {"list.json", "found an array"});
}

TEST_F(TraceMerge, AMergedTraceIsNotAnInput) {
  merge_trace_files({rank0(), rank1()}, path("merged.json"));
  test::expect_parts(refused({path("merged.json")}),
                     {"merged.json: expected a rank trace", "without a rank"});
}

TEST_F(TraceMerge, BadJsonNamesTheFileAndTheByte) {
  const std::string text = rank_trace(0, 1, 0, 1);
  test::expect_parts(refused({file("cut.json", text.substr(0, text.size() / 2))}),
                     {"cut.json: bad JSON at byte"});
}

TEST_F(TraceMerge, AFileThatCannotBeReadIsNamed) {
  test::expect_parts(refused({path("absent.json")}),
                     {"absent.json: cannot read it: No such file or directory"});
  std::filesystem::create_directories(path("folder"));
  test::expect_parts(refused({path("folder")}), {"folder: cannot read it: Is a directory"});
}

TEST_F(TraceMerge, DevicesThatDoNotFollowEachOtherAreRefused) {
  const std::string gap = file("gap.json", rank_trace(1, 2, 2, 1));  // rank 0 holds device 0 only
  test::expect_parts(
      refused({rank0(), gap}),
      {"gap.json: expected rank 1's devices to start at global device 1", "found 2"});
}

TEST_F(TraceMerge, AnEventOutsideItsRanksDevicesIsRefused) {
  std::string text = rank_trace(1, 2, 1, 2);
  const std::string step = "\"name\":\"step\",\"pid\":2";
  ASSERT_NE(text.find(step), std::string::npos);
  text.replace(text.find(step), step.size(), "\"name\":\"step\",\"pid\":7");
  test::expect_parts(
      refused({rank0(), file("stray.json", text)}),
      {"stray.json: traceEvents[", "expected pid one of rank 1's global devices 1..2", "found 7"});
}

TEST_F(TraceMerge, TimesFromTheFirstEventAreNotOnTheRunsOrigin) {
  const std::string own = file("own.json", rank_trace(1, 2, 1, 2, /*shared_origin=*/false));
  test::expect_parts(refused({rank0(), own}),
                     {"own.json: expected times from the run's shared origin", "first event"});
}

TEST_F(TraceMerge, AnErrorLeavesAnEarlierOutputAsItWas) {
  write_bytes(path("out.json"), "earlier");
  const std::string message = test::error_of([&] {
    merge_trace_files({rank0(), path("absent.json")}, path("out.json"));
  });
  EXPECT_NE(message.find("absent.json"), std::string::npos) << message;
  EXPECT_EQ(read_bytes(path("out.json")), "earlier");
  test::expect_parts(test::error_of([&] { merge_trace_files({rank0()}, rank0()); }),
                     {"is an input too"});
}

// `cudp trace merge`: the inputs positional, the output a flag, one line per error.
TEST_F(TraceMerge, TheCommandMergesAndRefusesWithOneLine) {
  const std::string a = rank0(), b = rank1();
  const test::CliRun ok = test::cli({"trace", "merge", a, "--output", path("out.json"), b});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out, concat("merged 2 ranks (3 devices, 20 events) into ", path("out.json"), "\n"));
  const test::CliRun help = test::cli({"trace", "merge", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("usage: cudp trace merge --output OUT IN..."), std::string::npos);
  EXPECT_NE(help.out.find("--output"), std::string::npos);
  EXPECT_NE(test::cli({"--help"}).out.find("trace "), std::string::npos) << "in cudp --help";
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"trace"}, "cudp trace: error: expected a subcommand (merge), found none"},
      {{"trace", "split"}, "cudp trace: error: expected a subcommand (merge), found 'split'"},
      {{"trace", "merge", a, b}, "cudp trace: error: --output: expected the path"},
      {{"trace", "merge", "--output", path("o.json")}, "expected the rank traces to merge"},
      {{"trace", "merge", "--outptu", "x", a}, "unknown flag --outptu"},
      {{"trace", "merge", "--output", path("o.json"), b}, "no file of rank 0"}};
  for (const auto& [args, message] : bad) {
    const test::CliRun run = test::cli(args);
    EXPECT_EQ(run.status, 1) << args.size();
    EXPECT_NE(run.err.find(message), std::string::npos) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  }
  EXPECT_FALSE(std::filesystem::exists(path("o.json")));
}

}  // namespace
}  // namespace cudp
