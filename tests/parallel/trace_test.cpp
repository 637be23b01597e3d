// The trace (parallel/trace.h): valid JSON, one process per device with a
// compute and a copy lane, every phase present, and bytes on every copy that
// add up to the closed forms of each phase; with --edge copy every add names
// its edge; one process of several writes global pids, a net lane and the
// "cudp" object, with times from the origin it was given.
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "io/json.h"
#include "parallel/trace.h"
#include "runtime/stream.h"
#include "tests/parallel/fixtures.h"

namespace cudp {
namespace {

const json::Value* member(const json::Value& object, const std::string& key) {
  for (const auto& [k, v] : object.members)
    if (k == key) return &v;
  return nullptr;
}

uint64_t number(const json::Value& object, const std::string& key) {
  const json::Value* v = member(object, key);
  uint64_t out = 0;
  EXPECT_TRUE(v && v->as_uint64(&out)) << key;
  return out;
}

struct Parsed {
  std::map<std::string, int> count;            // complete events by name
  std::map<std::string, uint64_t> copy_bytes;  // by phase
  std::set<uint64_t> pids;
  std::map<uint64_t, std::string> process_names;
};

Parsed parse_trace(const std::string& text) {
  const json::Value root = json::parse(text, "trace");
  Parsed p;
  const json::Value* events = member(root, "traceEvents");
  EXPECT_TRUE(events && events->kind == json::Kind::Array);
  if (!events) return p;
  for (const json::Value& e : events->items) {
    const std::string ph = member(e, "ph")->text;
    const uint64_t pid = number(e, "pid");
    if (ph == "M") {
      if (member(e, "name")->text == "process_name")
        p.process_names[pid] = member(*member(e, "args"), "name")->text;
      continue;
    }
    EXPECT_EQ(ph, "X");
    const std::string name = member(e, "name")->text;
    p.pids.insert(pid);
    const uint64_t tid = number(e, "tid");
    // An event is on the lane of the stream that runs it: the copy lane holds
    // copies, the buckets' in-place adds and SGD; gather and scatter_grad copy
    // on the compute stream (the test net's buckets are below the Parts size).
    const json::Value* args = member(e, "args");
    const json::Value* phase = args ? member(*args, "phase") : nullptr;
    const bool on_compute = phase && (phase->text == "gather" || phase->text == "scatter_grad");
    const bool host = name == "enqueue" || name == "wait/loss" || name == "sync";
    EXPECT_EQ(tid, host ? 3u
                   : (name == "copy" || name == "peer_add" || name == "sgd") && !on_compute ? 1u
                                                                                            : 0u)
        << name;
    if (host) {
      EXPECT_EQ(pid, 0u) << "the host lane is on the first device";
    }
    EXPECT_EQ(member(e, "ts")->kind, json::Kind::Number);
    EXPECT_NE(member(e, "dur")->text[0], '-') << name;
    ++p.count[name];
    if (name == "copy" || name == "peer_add") {
      const json::Value& args = *member(e, "args");
      p.copy_bytes[member(args, "phase")->text] += number(args, "bytes");
      EXPECT_NE(member(args, "src"), nullptr);
      EXPECT_NE(member(args, "dst"), nullptr);
    }
  }
  return p;
}

std::string trace_of(ParallelOptions options, int devices, int64_t batch, int steps) {
  const auto batches = test::make_batches(steps, batch, 61);
  DeviceGroup group(test::cpus(devices), 3);
  std::vector<std::string> names;
  for (int r = 0; r < devices; ++r) names.push_back(group[r].name());
  Tracer tracer(names);
  options.tracer = &tracer;
  auto trainer = make_parallel_trainer(group, test::small_factory(), test::test_sgd(), options);
  for (const auto& b : batches) trainer->step(b.x.data(), b.y.data(), b.size());
  // One file per test and process: ctest -j runs the tests of this suite at once.
  const std::string path = concat(::testing::TempDir(), "cudp_trace_",
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                                  ".", ::getpid(), ".json");
  tracer.write(path);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  return text.str();
}

TEST(Trace, DataParallelStepsAreValidJsonWithEveryPhaseAndByte) {
  const int devices = 3, steps = 2;
  const int64_t B = 7, params = 175434, classes = 10, sample = 3 * 8 * 8;
  const Parsed p = parse_trace(trace_of(test::mode(ParallelMode::DataParallel), devices, B, steps));
  EXPECT_EQ(p.pids, (std::set<uint64_t>{0, 1, 2}));
  EXPECT_EQ(p.process_names.at(2), "rank 2 (cpu:2)");
  for (const char* name :
       {"scatter", "forward/conv1", "forward/fc2", "gather", "loss", "scatter_grad", "backward/fc2",
        "backward/conv1", "peer_add", "join", "sgd", "copy"})
    EXPECT_GT(p.count.count(name), 0u) << name;
  EXPECT_EQ(p.count.at("step"), devices * steps);
  // The host lane, per step: queue forward and backward, wait for the loss,
  // queue the reduce and SGD, sync at the end.
  EXPECT_EQ(p.count.at("enqueue"), 2 * steps);
  EXPECT_EQ(p.count.at("wait/loss"), steps);
  EXPECT_EQ(p.count.at("sync"), steps);
  EXPECT_EQ(p.count.at("sgd"), steps * 4);          // rank 0 only, one per bucket
  EXPECT_EQ(p.count.count("forward/flatten"), 0u);  // a reshape is no work
  EXPECT_EQ(p.copy_bytes.at("scatter"), steps * (B * sample * 4 + B * 4));
  EXPECT_EQ(p.copy_bytes.at("broadcast"), steps * (devices - 1) * params * 4);
  EXPECT_EQ(p.copy_bytes.at("gather"), steps * B * classes * 4);
  EXPECT_EQ(p.copy_bytes.at("scatter_grad"), steps * B * classes * 4);
  EXPECT_EQ(p.copy_bytes.at("reduce"), steps * (devices - 1) * params * 4);
  EXPECT_EQ(p.copy_bytes.size(), 5u);
}

TEST(Trace, DdpBroadcastsOnceAndAllReducesEveryStep) {
  const int devices = 4, steps = 2;
  const int64_t B = 9, params = 175434, sample = 3 * 8 * 8;  // 3,3,3 and an idle rank
  const Parsed p = parse_trace(trace_of(test::mode(ParallelMode::Distributed), devices, B, steps));
  EXPECT_EQ(p.pids, (std::set<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(p.copy_bytes.at("broadcast"), (devices - 1) * params * 4);
  EXPECT_EQ(p.copy_bytes.at("all_reduce"), steps * 2 * (devices - 1) * params * 4);
  EXPECT_EQ(p.copy_bytes.at("scatter"), steps * (B * sample * 4 + B * 4));
  EXPECT_EQ(p.count.at("sgd"), devices * steps * 4);  // every replica, one per bucket
  EXPECT_EQ(p.count.at("loss"), 3 * steps);           // the idle rank has no shard
  EXPECT_EQ(p.count.at("join"), steps);               // rank 0 waits for the gradient buckets
  // One in-place add per reduce edge and bucket (conv1, conv2, fc1, fc2): 3 edges for 4 ranks.
  EXPECT_EQ(p.count.at("peer_add"), steps * 4 * (devices - 1));
  EXPECT_EQ(p.count.count("gather"), 0u);
}

TEST(Trace, TracingChangesNoResult) {
  // With or without a tracer the trainers queue the same work; only the marks differ.
  const auto batches = test::make_batches(2, 5, 71);
  const test::Trained plain =
      test::train_parallel(batches, 2, test::mode(ParallelMode::DataParallel));
  DeviceGroup group(test::cpus(2), 3);
  Tracer tracer({"a", "b"});
  ParallelOptions options = test::mode(ParallelMode::DataParallel);
  options.tracer = &tracer;
  auto trainer = make_parallel_trainer(group, test::small_factory(), test::test_sgd(), options);
  for (const auto& b : batches) trainer->step(b.x.data(), b.y.data(), b.size());
  EXPECT_EQ(test::host_params(trainer->net()), plain.params);
  EXPECT_GT(tracer.records().size(), 20u);
}

TEST(Trace, EdgeCopyAddsNameTheirEdge) {
  // Staged edges: a copy and an add per chunk; the add moves no bytes but says which edge.
  ParallelOptions options = test::mode(ParallelMode::DataParallel);
  options.plan.direct_reads = false;
  options.plan.chunk_bytes = 4096;
  const json::Value root = json::parse(trace_of(options, 3, 6, 1), "trace");
  int adds = 0;
  for (const json::Value& e : member(root, "traceEvents")->items) {
    if (member(e, "name")->text != "add") continue;
    ++adds;
    const json::Value* args = member(e, "args");
    ASSERT_NE(args, nullptr);
    EXPECT_EQ(member(*args, "bytes"), nullptr) << "an add moves no bytes";
    const uint64_t src = number(*args, "src"), dst = number(*args, "dst");
    EXPECT_LT(src, 3u);
    EXPECT_LT(dst, 3u);
    EXPECT_NE(src, dst);
    EXPECT_EQ(dst, number(e, "pid")) << "the receiver adds";
    EXPECT_EQ(member(*args, "phase")->text, "reduce");
  }
  EXPECT_GT(adds, 2);
}

// Every copy and add of a bucket names the bucket and its slice of the flat
// buffer ([offset, offset + length) floats, bytes = 4 x length); a bucket's
// slices stay inside one range, and no two buckets' ranges overlap (ddp's
// first broadcast is of the whole buffer, the plan's whole(), id 4); every sgd
// names the replica it steps and its elements, which add up to the parameters.
TEST(Trace, BucketEventsNameTheirSliceAndSgdItsOwner) {
  const int64_t params = 175434;
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed})
    for (int variant = 0; variant < 3; ++variant) {
      ParallelOptions options = test::mode(m);
      if (variant == 1) {
        options.plan.direct_reads = false;
        options.plan.chunk_bytes = 4096;
      }
      if (variant == 2) options.plan.split_bucket_floats = 1;  // every bucket in parts
      const int steps = 1, devices = 3;
      const json::Value root = json::parse(trace_of(options, devices, 6, steps), "trace");
      std::map<uint64_t, std::pair<uint64_t, uint64_t>> range;  // bucket: [begin, end)
      std::map<uint64_t, uint64_t> stepped;                      // owner: elements
      int slices = 0;
      uint64_t whole = 0;
      for (const json::Value& e : member(root, "traceEvents")->items) {
        const std::string name = member(e, "name")->text;
        const json::Value* args = member(e, "args");
        if (name == "sgd") {
          ASSERT_NE(args, nullptr);
          stepped[number(*args, "owner")] += number(*args, "length");
          continue;
        }
        if (name != "copy" && name != "peer_add" && name != "add") continue;
        const std::string phase = member(*args, "phase")->text;
        if (phase != "broadcast" && phase != "reduce" && phase != "all_reduce") continue;
        ++slices;
        const uint64_t bucket = number(*args, "bucket"), offset = number(*args, "offset"),
                       length = number(*args, "length");
        EXPECT_GT(length, 0u);
        EXPECT_LE(offset + length, static_cast<uint64_t>(params));
        if (name != "add") {
          EXPECT_EQ(number(*args, "bytes"), 4 * length) << name;
        }
        if (bucket == 4) {  // the plan's whole(): ddp's first broadcast, maybe in parts
          whole += length;
          continue;
        }
        auto [at, fresh] = range.try_emplace(bucket, offset, offset + length);
        if (!fresh) {
          at->second.first = std::min(at->second.first, offset);
          at->second.second = std::max(at->second.second, offset + length);
        }
      }
      const std::string what = concat(parallel_mode_name(m), " variant ", variant);
      EXPECT_GT(slices, 3) << what;
      EXPECT_EQ(range.size(), 4u) << what << ": conv1, conv2, fc1, fc2";
      uint64_t end = 0;
      for (const auto& [bucket, r] : range) {  // ids in forward order, ranges in order too
        EXPECT_GE(r.first, end) << what << " bucket " << bucket;
        end = r.second;
      }
      EXPECT_EQ(end, static_cast<uint64_t>(params)) << what;
      const uint64_t broadcast = m == ParallelMode::Distributed ? (devices - 1) * params : 0;
      EXPECT_EQ(whole, broadcast) << what << ": each receiver gets the whole buffer once";
      const std::size_t owners = m == ParallelMode::DataParallel ? 1 : devices;
      EXPECT_EQ(stepped.size(), owners) << what;
      for (const auto& [owner, n] : stepped)
        EXPECT_EQ(n, static_cast<uint64_t>(params * steps)) << what << " owner " << owner;
    }
}

// trace.h's list of names (its comment and kSpanNames) is what the trainers
// emit: every name a run writes is listed, and every listed name but those
// of the net lane (several processes: mpi.trace) is written by some run of
// dp or ddp, edges direct or copied, buckets whole or in parts, textbook.
TEST(Trace, TheListedSpanNamesAreTheNamesEmitted) {
  std::set<std::string> listed;
  for (const char* name : kSpanNames) listed.insert(name);
  std::ifstream header(std::string(CUDP_SOURCE_DIR) + "/parallel/trace.h");
  std::stringstream text;
  text << header.rdbuf();
  auto in_comment = [&](const std::string& name) {  // "//   step, scatter, forward/<layer>, ..."
    if (name.back() == '/') return text.str().find(" " + name + "<layer>") != std::string::npos;
    return text.str().find(" " + name + ",") != std::string::npos ||
           text.str().find(" " + name + "  ") != std::string::npos;
  };
  for (const std::string& name : listed)
    EXPECT_TRUE(in_comment(name)) << name << " is in kSpanNames but not in trace.h's comment";
  std::set<std::string> emitted;
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed})
    for (int variant = 0; variant < 6; ++variant) {
      ParallelOptions options = test::mode(m, variant >= 4 ? ReduceAlgorithm::Ring : ReduceAlgorithm::Tree);
      if (variant == 1 || variant == 5) options.plan.direct_reads = false;
      if (variant == 2) options.plan.split_bucket_floats = 1;
      if (variant == 3) options.plan.textbook = true;
      const json::Value root = json::parse(trace_of(options, 3, 6, 2), "trace");
      for (const json::Value& e : member(root, "traceEvents")->items) {
        if (member(e, "ph")->text != "X") continue;
        std::string name = member(e, "name")->text;
        const std::size_t slash = name.find('/');
        if (slash != std::string::npos && name != "wait/loss") name = name.substr(0, slash + 1);
        emitted.insert(name);
      }
    }
  for (const std::string& name : emitted) EXPECT_TRUE(listed.count(name)) << name << " is emitted";
  for (const std::string& name : listed) {
    const bool net_only = name == "net_wait" || name == "reduce" || name == "all_reduce" ||
                          name == "allreduce" || name == "exchange";
    const bool gpu_only = name == "graph replay";  // --cuda-graph on (tests/cuda)
    if (!net_only && !gpu_only) {
      EXPECT_TRUE(emitted.count(name)) << name << " is listed, never emitted";
    }
  }
}

// One span on a fresh CPU stream, between two marks.
void span_on(Tracer& tracer, Stream& stream, int device, Lane lane, const char* name,
             TraceArgs args = {}) {
  TimeMark begin = stream.mark();
  stream.enqueue([] {});
  tracer.span(device, lane, name, begin, stream.mark(), args);
  stream.synchronize();
}

TEST(Trace, OneOfSeveralProcessesWritesGlobalDevicesANetLaneAndWhoWroteIt) {
  Tracer tracer(TraceProcess{1, 3, "node-b", 2, {"cpu:0", "cpu:1"}});
  Stream stream(cpu_device(0));
  const double origin = host_microseconds();
  tracer.set_origin(origin);
  span_on(tracer, stream, 1, Lane::Compute, "step");
  span_on(tracer, stream, 0, Lane::Copy, "copy", {64, -1, 1, "scatter"});
  // A net span: src and dst global (device 1 is rank 0's), peer the other process.
  span_on(tracer, stream, 0, Lane::Net, "recv", {400, 1, 2, "reduce", 0});
  const double elapsed = host_microseconds() - origin;
  const json::Value root = json::parse(tracer.json(), "trace");

  const json::Value& who = *member(root, "cudp");
  EXPECT_EQ(number(who, "rank"), 1u);
  EXPECT_EQ(number(who, "ranks"), 3u);
  EXPECT_EQ(number(who, "first_device"), 2u);
  EXPECT_EQ(member(who, "host")->text, "node-b");
  EXPECT_EQ(member(who, "origin")->text, "shared");
  ASSERT_EQ(member(who, "devices")->items.size(), 2u);
  EXPECT_EQ(member(who, "devices")->items[1].text, "cpu:1");

  std::map<uint64_t, std::string> process_names;
  std::map<std::pair<uint64_t, uint64_t>, std::string> thread_names;
  std::map<std::string, const json::Value*> spans;
  for (const json::Value& e : member(root, "traceEvents")->items) {
    const std::string name = member(e, "name")->text;
    const auto lane = std::make_pair(number(e, "pid"), number(e, "tid"));
    if (name == "process_name")
      process_names[lane.first] = member(*member(e, "args"), "name")->text;
    if (name == "thread_name") thread_names[lane] = member(*member(e, "args"), "name")->text;
    if (member(e, "ph")->text == "X") spans[name] = &e;
  }
  EXPECT_EQ(process_names,
            (std::map<uint64_t, std::string>{{2, "rank 1 \u00b7 device 2 (cpu:0) \u00b7 node-b"},
                                             {3, "rank 1 \u00b7 device 3 (cpu:1) \u00b7 node-b"}}));
  EXPECT_EQ(thread_names.at({3, 2}), "net");
  EXPECT_EQ(thread_names.at({2, 3}), "host");  // on this process's first device only
  EXPECT_EQ(thread_names.size(), 7u);

  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(number(*spans.at("step"), "pid"), 3u);
  const json::Value& copy = *member(*spans.at("copy"), "args");
  EXPECT_EQ(member(copy, "src")->text, "-1") << "the host stays -1";
  EXPECT_EQ(number(copy, "dst"), 3u) << "local device 1 is global 3";
  const json::Value& recv = *spans.at("recv");
  EXPECT_EQ(number(recv, "pid"), 2u);
  EXPECT_EQ(number(recv, "tid"), 2u);
  const json::Value& net = *member(recv, "args");
  EXPECT_EQ(number(net, "bytes"), 400u);
  EXPECT_EQ(number(net, "src"), 1u) << "net src/dst are written as given";
  EXPECT_EQ(number(net, "dst"), 2u);
  EXPECT_EQ(number(net, "peer"), 0u);
  for (const auto& [name, e] : spans) {  // from the origin, not from the first event
    const double ts = std::stod(member(*e, "ts")->text);
    EXPECT_GE(ts, 0.0) << name;
    EXPECT_LE(ts, elapsed) << name;
  }
}

// The net stream's closures time themselves on the host: their spans land
// where the host clock says, beside marks of the same origin, with the bucket;
// and the "cudp" object carries the run's net totals as given.
TEST(Trace, HostTimedNetSpansShareTheOriginAndTheTotalsAreWritten) {
  Tracer tracer(TraceProcess{0, 2, "node-a", 0, {"cpu:0"}});
  Stream stream(cpu_device(0));
  const double origin = host_microseconds();
  tracer.set_origin(origin);
  TraceArgs args;
  args.bytes = 4096;
  args.bucket = 2;
  tracer.host_span(0, Lane::Net, "all_reduce", origin + 1000, origin + 3500, args);
  tracer.host_span(0, Lane::Net, "backwards", origin + 10, origin + 5, {});  // clamped
  tracer.add_net_time(2.5, 0.75);
  tracer.add_net_time(1.5, 0.25);
  const json::Value root = json::parse(tracer.json(), "trace");
  const json::Value& net = *member(*member(root, "cudp"), "net");
  EXPECT_EQ(member(net, "busy_ms")->text, "4.000");
  EXPECT_EQ(member(net, "exposed_ms")->text, "1.000");
  EXPECT_EQ(member(net, "hidden_ms")->text, "3.000");
  int found = 0;
  for (const json::Value& e : member(root, "traceEvents")->items) {
    if (member(e, "ph")->text != "X") continue;
    const std::string name = member(e, "name")->text;
    EXPECT_EQ(number(e, "tid"), 2u) << name;
    if (name == "all_reduce") {
      ++found;
      EXPECT_EQ(member(e, "ts")->text, "1000.000");
      EXPECT_EQ(member(e, "dur")->text, "2500.000");
      EXPECT_EQ(number(*member(e, "args"), "bucket"), 2u);
      EXPECT_EQ(number(*member(e, "args"), "bytes"), 4096u);
    } else {
      ++found;
      EXPECT_EQ(member(e, "dur")->text, "0.000") << "an end before the begin is clamped";
    }
  }
  EXPECT_EQ(found, 2);
}

TEST(Trace, OneProcessWritesNoNetLaneAndNoCudpObject) {
  Tracer tracer({"rank 0 (cpu:0)"});
  Stream stream(cpu_device(0));
  span_on(tracer, stream, 0, Lane::Compute, "step");
  const json::Value root = json::parse(tracer.json(), "trace");
  EXPECT_EQ(member(root, "cudp"), nullptr);
  int threads = 0;
  for (const json::Value& e : member(root, "traceEvents")->items) {
    threads += member(e, "name")->text == "thread_name";
    if (member(e, "ph")->text == "X") {
      EXPECT_EQ(member(e, "ts")->text, "0.000");
    }
  }
  EXPECT_EQ(threads, 3);  // compute, copy, and the host lane of the first device
}

TEST(Trace, AProcessOutsideItsRanksIsRefused) {
  try {
    Tracer tracer(TraceProcess{2, 2, "h", 0, {"cpu:0"}});
    FAIL() << "rank 2 of 2 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected a rank in 0..1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cudp

namespace cudp {
namespace {

// CPU time (trace.h): every event that encloses work on a CPU device carries
// cpu_us and the thread that ran it; the waits and the host lane carry none;
// with one thread per device the work's CPU time never exceeds its wall time.
TEST(Trace, WorkCarriesItsCpuTimeAndThreadWaitsCarryNone) {
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    const json::Value root = json::parse(trace_of(test::mode(m), 2, 6, 2), "trace");
    int with_cpu = 0;
    std::map<uint64_t, std::set<uint64_t>> compute_threads;  // pid -> threads of its compute lane
    for (const json::Value& e : member(root, "traceEvents")->items) {
      if (member(e, "ph")->text != "X") continue;
      const std::string name = member(e, "name")->text;
      const json::Value* args = member(e, "args");
      const json::Value* cpu = args ? member(*args, "cpu_us") : nullptr;
      const bool wait = name == "join" || name == "net_wait" || name == "enqueue" ||
                        name == "wait/loss" || name == "sync" ||
                        (name == "scatter" && number(e, "tid") == 0);
      const bool work = name == "copy" || name == "peer_add" || name == "add" || name == "sgd" ||
                        name == "loss" || name == "step" || name.rfind("forward/", 0) == 0 ||
                        name.rfind("backward/", 0) == 0;
      if (wait) {
        EXPECT_EQ(cpu, nullptr) << name << " is a wait: no CPU time";
        EXPECT_TRUE(!args || !member(*args, "thread")) << name;
      }
      if (!work) continue;
      ASSERT_NE(cpu, nullptr) << name << " encloses work";
      ++with_cpu;
      ASSERT_EQ(cpu->kind, json::Kind::Number) << name;
      const double cpu_us = std::stod(cpu->text), dur = std::stod(member(e, "dur")->text);
      EXPECT_GE(cpu_us, 0) << name;
      EXPECT_LE(cpu_us, dur + 50) << name << ": one thread's work within its own marks";
      const uint64_t thread = number(*args, "thread");
      EXPECT_GT(thread, 0u) << name;
      if (number(e, "tid") == 0 && !member(*args, "several_threads"))
        compute_threads[number(e, "pid")].insert(thread);
    }
    EXPECT_GT(with_cpu, 40);
    // A compute stream is one worker thread, a different one per device.
    ASSERT_EQ(compute_threads.size(), 2u);
    EXPECT_EQ(compute_threads[0].size(), 1u);
    EXPECT_EQ(compute_threads[1].size(), 1u);
    EXPECT_NE(*compute_threads[0].begin(), *compute_threads[1].begin());
  }
}

}  // namespace
}  // namespace cudp
