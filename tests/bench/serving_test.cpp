// The request driver behind bench memory and bench prefix: how requests are let in, and the
// closed-batch sizes that continuous batching is compared with.
#include "bench/serving.h"

#include <gtest/gtest.h>

#include "bench/memory.h"
#include "test_paths.h"

namespace kvscope {
namespace {

std::vector<ServedRequest> mix(int n) {
  std::vector<ServedRequest> requests;
  for (int i = 0; i < n; ++i)
    requests.push_back({std::vector<int32_t>(static_cast<size_t>(4 + 3 * i), 7 + i), 2 + i % 4, 8});
  return requests;
}

// A closed batch is sent only when every request of the one before it has ended; continuous
// admission sends the next as soon as one ends. Both give the same tokens.
TEST(ServeRequests, ClosedBatchesWaitForTheWholeBatchBeforeThem) {
  const auto model = Model::load(testing::fixture("models/tiny-llama-f32.gguf"));
  EngineOptions o;
  o.cache = CacheStrategy::kPrealloc;
  o.max_seqs = 3;
  const std::vector<ServedRequest> requests = mix(7);
  const ServedResult closed = serve_requests(*model, o, requests, 3, Admission::kClosedBatches);
  const ServedResult continuous = serve_requests(*model, o, requests, 3);
  EXPECT_TRUE(closed.same_outputs(continuous));
  for (size_t i = 3; i < requests.size(); ++i) {
    const size_t batch_start = i / 3 * 3;
    for (size_t j = batch_start - 3; j < batch_start; ++j)
      EXPECT_GE(closed.outputs[i].arrival, closed.outputs[j].token_times.back())
          << "request " << i << " arrived before request " << j << " of the batch before ended";
  }
  // Continuously, request 3 goes in as soon as the shortest of the first three ends.
  Clock::time_point last_of_first_three = continuous.outputs[0].token_times.back();
  for (size_t j = 1; j < 3; ++j)
    last_of_first_three = std::max(last_of_first_three, continuous.outputs[j].token_times.back());
  EXPECT_LT(continuous.outputs[3].arrival, last_of_first_three);
}

// 1 MiB of f32 rows for requests of up to 100 positions: every power of two below the largest
// batch that fits, then the largest, capped by max_seqs and the number of requests.
TEST(MemoryBench, FixedBatchSizesFitTheBudget) {
  const auto model = Model::load(testing::fixture("models/tiny-llama-f32.gguf"));
  MemoryBenchOptions o;
  o.measure.kv_type = KvType::kF32;
  o.budget_mib = 1;
  const KvShape shape{model->config().n_layers, model->config().kv_dim()};
  const int fit = static_cast<int>((size_t{1} << 20) / (100 * shape.bytes_per_token()));
  ASSERT_GT(fit, 4);
  const std::vector<int> sizes = fixed_batch_sizes(*model, o, 100, 1000);
  ASSERT_FALSE(sizes.empty());
  EXPECT_EQ(sizes.back(), std::min(fit, o.max_seqs));
  for (size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], 1 << i);
  EXPECT_EQ(fixed_batch_sizes(*model, o, 100, 3), (std::vector<int>{1, 2, 3}));
  o.budget_mib = 1;
  EXPECT_TRUE(fixed_batch_sizes(*model, o, 1 << 22, 10).empty());  // not even one fits
}

}  // namespace
}  // namespace kvscope
