// MPI's process group (see process_group.h), built only with MPI (CUDP_MPI).
//
// Two communicators duplicated from MPI_COMM_WORLD keep the two threads that
// talk apart: `host_` for the main thread's collectives (the layout, the
// configuration check, each step's losses), `net_` for the communicator's net
// stream (the buckets' point-to-point edges). Every request is non-blocking
// and waited for by MPI_Testall with a sleep that doubles up to 100 us: Open
// MPI's blocking waits spin, and a spinning thread would take a core from
// compute; a longer sleep (1 ms before) added up to that much to every level.
#include <mpi.h>
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h>  // Open MPI's extensions: MPIX_CUDA_AWARE_SUPPORT, MPIX_Query_cuda_support
#endif
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <thread>

#include "parallel/process_group.h"
#include "runtime/error.h"

namespace cudp {
namespace {

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<std::size_t>(std::max(0, length)));
}

void check(int code, const char* call) {
  if (code != MPI_SUCCESS) fail(call, " failed: ", mpi_error(code));
}

class MpiProcesses final : public ProcessGroup {
 public:
  MpiProcesses() {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
    if (provided < MPI_THREAD_MULTIPLE) {
      MPI_Finalize();
      fail("this MPI library provides thread level ", provided,
           ", and cudp needs MPI_THREAD_MULTIPLE (", MPI_THREAD_MULTIPLE,
           "): the main thread and the net stream both talk");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check(MPI_Comm_dup(MPI_COMM_WORLD, &host_), "MPI_Comm_dup");
    check(MPI_Comm_dup(MPI_COMM_WORLD, &net_), "MPI_Comm_dup");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiProcesses() override {
    MPI_Comm_free(&net_);
    MPI_Comm_free(&host_);
    MPI_Finalize();
  }

  // Compiled for CUDA and, at run time, loaded with it; Debian's build is neither.
  bool cuda_aware() const override {
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
    return MPIX_Query_cuda_support() == 1;
#else
    return false;
#endif
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string host() const override {
    char name[MPI_MAX_PROCESSOR_NAME] = {};
    int length = 0;
    MPI_Get_processor_name(name, &length);
    return std::string(name, static_cast<std::size_t>(std::max(0, length)));
  }

  std::vector<std::string> all_gather(const std::string& mine) override {
    if (mine.size() > INT_MAX) fail("all_gather: ", mine.size(), " bytes is more than MPI's int");
    const int length = static_cast<int>(mine.size());
    std::vector<int> lengths(static_cast<std::size_t>(size_));
    MPI_Request request;
    check(MPI_Iallgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, host_, &request),
          "MPI_Iallgather");
    wait({request}, "the lengths of every rank's settings", -1);
    std::vector<int> offsets(static_cast<std::size_t>(size_));
    int total = 0;
    for (int p = 0; p < size_; ++p) {
      offsets[p] = total;
      total += lengths[p];
    }
    std::string all(static_cast<std::size_t>(total), '\0');
    check(MPI_Iallgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(),
                          offsets.data(), MPI_CHAR, host_, &request),
          "MPI_Iallgatherv");
    wait({request}, "every rank's settings", -1);
    std::vector<std::string> out;
    for (int p = 0; p < size_; ++p) out.push_back(all.substr(offsets[p], lengths[p]));
    return out;
  }

  void exchange(const std::vector<Transfer>& transfers) override {
    std::vector<MPI_Request> requests;
    for (const Transfer& t : transfers) {
      if (t.peer < 0 || t.peer >= size_ || t.peer == rank_)
        fail("exchange: expected a peer rank other than ", rank_, " below ", size_, ", found ",
             t.peer);
      for (std::size_t done = 0; done < t.bytes || (done == 0 && t.bytes == 0);) {
        const int count = static_cast<int>(std::min<std::size_t>(t.bytes - done, INT_MAX / 2));
        char* at = static_cast<char*>(t.data) + done;
        MPI_Request request;
        if (t.send)
          check(MPI_Isend(at, count, MPI_BYTE, t.peer, t.tag, net_, &request), "MPI_Isend");
        else
          check(MPI_Irecv(at, count, MPI_BYTE, t.peer, t.tag, net_, &request), "MPI_Irecv");
        requests.push_back(request);
        done += static_cast<std::size_t>(count);
        if (count == 0) break;
      }
    }
    wait(std::move(requests), "a bucket's transfer", transfers.empty() ? -1 : transfers[0].peer);
  }

  void all_reduce_sum(float* data, std::size_t n) override {
    if (n > INT_MAX) fail("all_reduce_sum: ", n, " floats is more than MPI's int");
    MPI_Request request;
    check(MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_FLOAT, MPI_SUM, net_,
                         &request),
          "MPI_Iallreduce");
    wait({request}, "MPI_Iallreduce of a bucket", -1);
  }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  void wait(std::vector<MPI_Request> requests, const char* what, int peer) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto pause = std::chrono::microseconds(5);
    while (true) {
      int done = 0;
      check(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done,
                        MPI_STATUSES_IGNORE),
            "MPI_Testall");
      if (done) return;
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      if (waited > timeout_s())
        fail_parameter("timeout", "rank ", rank_, " waited ", static_cast<int>(waited), " s for ",
                       what, peer >= 0 ? concat(" with rank ", peer) : std::string(" of every rank"),
                       ": a rank stopped or hangs (raise the limit for slow machines)");
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(100));
    }
  }

  MPI_Comm host_ = MPI_COMM_NULL, net_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool built_with_mpi() { return true; }

std::unique_ptr<ProcessGroup> open_processes() {
  if (launched_processes() <= 1) return std::make_unique<SingleProcess>();
  return std::make_unique<MpiProcesses>();
}

}  // namespace cudp
