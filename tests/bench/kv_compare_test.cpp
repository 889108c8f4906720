#include "bench/kv_compare.h"

#include <gtest/gtest.h>

#include "bench/speed.h"
#include "bench/trace.h"
#include "core/error.h"
#include "test_paths.h"

namespace kvscope {
namespace {

std::unique_ptr<Model> tiny_model() {
  return Model::load(testing::fixture("models/tiny-llama-q4_1.gguf"));
}

// A p-token prompt and g new tokens, `repetitions` measured runs and no warm-up.
KvCompareOptions options(int p, int g, int repetitions) {
  KvCompareOptions o;
  o.prompt_tokens = p;
  o.new_tokens = g;
  o.measure.repetitions = repetitions;
  o.measure.warmup = 0;
  return o;
}

TEST(KvCompare, RunsOnATinyModelAndFindsTheStrategiesIdentical) {
  const auto model = tiny_model();
  const KvCompareOptions o = options(50, 100, 2);
  int calls = 0;
  const KvCompareResult r = run_kv_compare(*model, o, [&](int done, int total) {
    ++calls;
    EXPECT_EQ(total, 8);
    EXPECT_EQ(done, calls);
  });
  EXPECT_TRUE(r.all_identical);
  ASSERT_EQ(r.strategies.size(), 4u);
  for (const auto& m : r.strategies) {
    ASSERT_EQ(m.outputs.size(), 1u);
    EXPECT_EQ(m.outputs[0].size(), 100u);
    EXPECT_EQ(m.seconds.count, 2);
    EXPECT_GT(m.throughput_tps.median, 0);
  }
  // A 50-token prompt and 100 new tokens: without a cache, step t feeds 50 + t tokens; with one,
  // the prompt and then each sampled token but the last (which is never fed back).
  EXPECT_EQ(r.token_ops_without_cache, 9950);
  EXPECT_EQ(r.token_ops_with_cache, 149);
  EXPECT_DOUBLE_EQ(r.theoretical_speedup, 9950.0 / 149);
  EXPECT_EQ(r.baseline, CacheStrategy::kNone);
  EXPECT_EQ(r.speedups[0], 1.0);
  EXPECT_EQ(r.workload.prompts[0].size(), 50u);
  EXPECT_EQ(r.workload.name, "p50 g100 b1");
  // At their most: prealloc holds the whole context at once, paged the 10 blocks of 16 it grew
  // into.
  EXPECT_EQ(r.strategies[2].kv_bytes_reserved, 150 * 2 * 2 * 32 * 4u);
  EXPECT_EQ(r.strategies[3].kv_bytes_reserved, 160 * 2 * 2 * 32 * 4u);
}

// Each speedup is against the named baseline, and the complexity's measured figure is the fastest
// cached strategy against none, whatever order the strategies ran in.
TEST(KvCompare, SpeedupsDoNotDependOnTheOrderOfTheStrategies) {
  const auto model = tiny_model();
  KvCompareOptions o = options(6, 4, 1);
  o.measure.strategies = {CacheStrategy::kPrealloc, CacheStrategy::kConcat, CacheStrategy::kNone};
  o.baseline = CacheStrategy::kNone;
  const KvCompareResult r = run_kv_compare(*model, o);
  ASSERT_EQ(r.speedups.size(), 3u);
  const double none = r.strategies[2].seconds.median;
  for (size_t i = 0; i < 3; ++i)
    EXPECT_DOUBLE_EQ(r.speedups[i], none / r.strategies[i].seconds.median) << i;
  const size_t fastest = r.speedups[0] >= r.speedups[1] ? 0 : 1;
  EXPECT_EQ(r.fastest, r.strategies[fastest].strategy);
  EXPECT_DOUBLE_EQ(r.measured_speedup, r.speedups[fastest]);
  EXPECT_DOUBLE_EQ(r.efficiency, r.measured_speedup / r.theoretical_speedup);
  EXPECT_EQ(r.token_ops_with_cache, 9);
  // Without `none` there is no measured complexity figure; a baseline not measured is an error.
  o.measure.strategies = {CacheStrategy::kConcat, CacheStrategy::kPrealloc};
  o.baseline.reset();
  const KvCompareResult cached = run_kv_compare(*model, o);
  EXPECT_EQ(cached.baseline, CacheStrategy::kConcat);
  EXPECT_EQ(cached.measured_speedup, 0);
  o.baseline = CacheStrategy::kNone;
  EXPECT_THROW(run_kv_compare(*model, o), Error);
}

TEST(KvCompare, VerificationCatchesADifferentOutput) {
  std::vector<Measurement> m(3);
  for (auto& s : m) {
    s.outputs = {{1, 2, 3}};
    s.logits_hash = 42;
  }
  EXPECT_TRUE(verify_identical(m));
  m[1].outputs = {{1, 2, 4}};
  EXPECT_FALSE(verify_identical(m));
  EXPECT_TRUE(m[0].identical);
  EXPECT_FALSE(m[1].identical);
  EXPECT_TRUE(m[2].identical);
  m[1].outputs = {{1, 2, 3}};
  m[2].logits_hash = 43;  // the same tokens from different logits is a difference too
  EXPECT_FALSE(verify_identical(m));
  m[2].logits_hash = 42;
  m[0].repeatable = false;
  EXPECT_FALSE(verify_identical(m));
}

TEST(SpeedBench, RunsEveryKindOfTest) {
  const auto model = Model::load(testing::fixture("models/tiny-llama-q4_1.gguf"));
  SpeedOptions o;
  o.repetitions = 2;
  for (const SpeedTest& t : {SpeedTest{16, 0, 0, 1}, SpeedTest{0, 8, 0, 1}, SpeedTest{0, 8, 16, 1},
                             SpeedTest{4, 4, 0, 1}, SpeedTest{0, 4, 8, 3}}) {
    const std::vector<CacheStrategy> caches = {CacheStrategy::kPrealloc, CacheStrategy::kPaged};
    const std::vector<SpeedResult> results = run_speed_test(*model, t, o, caches);
    ASSERT_EQ(results.size(), 2u);
    for (size_t c = 0; c < caches.size(); ++c) {
      const SpeedResult& r = results[c];
      EXPECT_EQ(r.cache, caches[c]);
      ASSERT_EQ(r.samples_ts.size(), 2u) << speed_test_name(t);
      EXPECT_GT(r.avg_ts, 0) << speed_test_name(t);
      EXPECT_EQ(r.achieved_gbs > 0, t.n_prompt == 0) << speed_test_name(t);
    }
  }
  EXPECT_EQ(speed_test_name({512, 0, 0, 1}), "pp512");
  EXPECT_EQ(speed_test_name({0, 128, 512, 1}), "tg128 @ d512");
  EXPECT_EQ(speed_test_name({0, 32, 0, 8}), "tg32 ×8");
  EXPECT_EQ(speed_test_name({512, 128, 0, 1}), "pp512+tg128");
}

TEST(Trace, AveragesEveryTokensLatencyPerStrategy) {
  const auto model = Model::load(testing::fixture("models/tiny-llama-q4_1.gguf"));
  TraceOptions o;
  o.prompt_tokens = 8;
  o.new_tokens = 12;
  o.measure.repetitions = 3;
  const TraceResult r = run_trace(*model, o);
  EXPECT_EQ(r.repetitions_done, 3);
  EXPECT_FALSE(r.interrupted);
  const auto& traces = r.strategies;
  ASSERT_EQ(traces.size(), 2u);
  EXPECT_EQ(traces[0].strategy, CacheStrategy::kNone);
  EXPECT_EQ(traces[1].strategy, CacheStrategy::kPaged);
  for (const StrategyTrace& t : traces) {
    ASSERT_EQ(t.mean_latency_s.size(), 12u);
    for (size_t i = 0; i < 12; ++i) {
      EXPECT_GT(t.min_latency_s[i], 0);
      EXPECT_LE(t.min_latency_s[i], t.mean_latency_s[i] * (1 + 1e-12));
      EXPECT_LE(t.mean_latency_s[i], t.max_latency_s[i] * (1 + 1e-12));
    }
  }
}

}  // namespace
}  // namespace kvscope
