// The check shared by the Net route's tests on CPU devices
// (tests/parallel/net_route_test.cpp) and on a GPU (tests/parallel_cuda/
// net_staged_test.cpp): threads playing processes (thread_processes.h)
// all-reduce random buckets over their devices, and every element must have
// the bits of ONE process all-reducing the same values over as many CPU
// devices with the same algorithm. Layouts even and uneven, tree, star, ring,
// the parts, sizes 0, 1, odd, and (for the GPU's staging) chunks of 1, 100 and
// more floats than the bucket.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/rng.h"
#include "tests/parallel/thread_processes.h"

namespace cudp::test {

inline std::vector<std::vector<float>> one_process_all_reduce(
    std::vector<std::vector<float>> values, PlanOptions options) {
  const int D = static_cast<int>(values.size());
  std::vector<Device> devices;
  for (int d = 0; d < D; ++d) devices.push_back(cpu_device(d));
  DeviceGroup group(devices, 0);
  options.split_bucket_floats = int64_t{1} << 60;  // the Whole route: one process's order
  BucketPlan plan(std::vector<int64_t>{static_cast<int64_t>(values[0].size())}, group, options);
  Communicator c(group, plan);
  std::vector<float*> pointers;
  for (auto& v : values) pointers.push_back(v.data());
  c.all_reduce(plan.whole(), pointers, c.ready_now(D));
  c.finish(plan.whole(), D);
  group.synchronize();
  return values;
}

inline void expect_net_bits_of_one_process(const std::function<Device(int)>& device,
                                           const std::vector<std::size_t>& chunk_bytes) {
  const std::vector<std::vector<int>> layouts = {{1, 1}, {2, 2}, {2, 1}, {1, 1, 1}, {1, 3}};
  for (const std::vector<int>& counts : layouts) {
    int D = 0;
    for (int c : counts) D += c;
    for (ReduceAlgorithm a :
         {ReduceAlgorithm::Tree, ReduceAlgorithm::Star, ReduceAlgorithm::Ring}) {
      for (int64_t n : {0, 1, 7, 1001}) {
        for (std::size_t chunk : chunk_bytes) {
          for (bool parts : {false, true}) {
            if (parts && a == ReduceAlgorithm::Ring) continue;  // the ring has no parts
            PlanOptions options;
            options.algorithm = a;
            options.chunk_bytes = chunk;
            options.split_bucket_floats = parts ? 1 : int64_t{1} << 60;
            Rng rng(static_cast<uint64_t>(n * 131 + D));
            std::vector<std::vector<float>> values(static_cast<std::size_t>(D));
            for (auto& v : values)
              for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<float>(rng.normal()));
            std::string layout;
            for (int c : counts) layout += (layout.empty() ? "" : "+") + std::to_string(c);
            const std::string what =
                concat("layout ", layout, " ", reduce_algorithm_name(a), " n=", n,
                       " chunk_bytes=", chunk, parts ? " parts" : "");
            const auto expected = one_process_all_reduce(values, options);
            const auto got = net_all_reduce(counts, values, options, device);
            for (int d = 0; d < D; ++d) {
              ASSERT_EQ(got[d].size(), expected[d].size()) << what << " device " << d;
              for (int64_t i = 0; i < n; ++i)
                if (std::memcmp(&got[d][i], &expected[d][i], 4) != 0) {
                  ADD_FAILURE() << what << ": global device " << d << " element " << i << " is "
                                << got[d][i] << ", one process has " << expected[d][i];
                  break;
                }
            }
          }
        }
      }
    }
  }
}

}  // namespace cudp::test
