// NetSpans: the net lane's spans inside one collective of the Communicator's
// Net route (communicator_net.cpp, communicator_ring.cpp), timed on the host:
// the closure runs on the net stream's own worker thread. Without a tracer,
// just the work. Internal to parallel/.
#pragma once

#include <vector>

#include "parallel/process_group.h"
#include "parallel/trace.h"
#include "runtime/cpu_time.h"

namespace cudp {

struct NetSpans {
  Tracer* tracer;
  // The CPU time this thread got since `start_ns` (thread_cpu_ns()).
  static SpanCpu since(int64_t start_ns) {
    return {true, static_cast<double>(thread_cpu_ns() - start_ns) / 1000.0, current_thread_id(),
            true};
  }
  void exchange(ProcessGroup& processes, const std::vector<Transfer>& transfers,
                const char* phase) {
    if (!tracer || transfers.empty()) return processes.exchange(transfers);
    const double begin = host_microseconds();
    const int64_t cpu = thread_cpu_ns();
    processes.exchange(transfers);
    const SpanCpu got = since(cpu);
    TraceArgs args;
    args.bytes = 0;
    args.phase = phase;
    for (const Transfer& t : transfers) {
      args.bytes += static_cast<int64_t>(t.bytes);
      args.peer = args.peer == TraceArgs::kNone || args.peer == t.peer ? t.peer : -1;
    }
    if (args.peer == -1) args.peer = TraceArgs::kNone;  // several peers
    tracer->host_span(0, Lane::Net, "exchange", begin, host_microseconds(), args, got);
  }
  template <class Adds>
  void adds(int64_t bytes, const char* phase, Adds&& run) {
    if (!tracer) return run();
    const double begin = host_microseconds();
    const int64_t cpu = thread_cpu_ns();
    run();
    const SpanCpu got = since(cpu);
    TraceArgs args;
    args.bytes = bytes;
    args.phase = phase;
    tracer->host_span(0, Lane::Net, "add", begin, host_microseconds(), args, got);
  }
};

}  // namespace cudp
