// Statistics and request metrics on synthetic timings whose answers are known.
#include <gtest/gtest.h>

#include <cmath>

#include "metrics/request_metrics.h"
#include "metrics/stats.h"
#include "metrics/table.h"

namespace kvscope {
namespace {

TEST(Stats, SummarizesKnownValues) {
  const Summary s = summarize({4, 1, 3, 2, 5});
  EXPECT_EQ(s.count, 5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_NEAR(s.stddev, 1.5811388300841898, 1e-12);  // sample standard deviation
  EXPECT_DOUBLE_EQ(s.p90, 4.6);                      // numpy.percentile(..., 90)
  EXPECT_DOUBLE_EQ(s.p99, 4.96);
  EXPECT_EQ(summarize({}).count, 0);
  EXPECT_DOUBLE_EQ(summarize({7}).stddev, 0);
}

TEST(Stats, DistinctNgramsCountRepeats) {
  const std::vector<int32_t> fresh = {1, 2, 3, 4, 5, 6};
  EXPECT_DOUBLE_EQ(distinct_ngram_share(fresh, 2), 1.0);
  // A loop of three tokens, four times over: of its 10 trigrams, only 3 are distinct.
  const std::vector<int32_t> loop = {7, 8, 9, 7, 8, 9, 7, 8, 9, 7, 8, 9};
  EXPECT_DOUBLE_EQ(distinct_ngram_share(loop, 3), 3.0 / 10.0);
  EXPECT_DOUBLE_EQ(distinct_ngram_share(loop, 1), 3.0 / 12.0);
  EXPECT_DOUBLE_EQ(distinct_ngram_share(std::vector<int32_t>{1, 1}, 3), 1.0);  // too short
}

SequenceResult synthetic(Clock::time_point start, const std::vector<double>& token_seconds,
                         int prompt) {
  SequenceResult r;
  r.prompt_tokens = prompt;
  for (double t : token_seconds)
    r.token_times.push_back(
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t)));
  return r;
}

TEST(RequestMetrics, FollowsTheServingBenchmarkDefinitions) {
  const auto start = Clock::now();
  // First token at 0.5 s, then one every 0.1 s: 11 tokens, the last at 1.5 s.
  std::vector<double> times;
  for (int i = 0; i <= 10; ++i) times.push_back(0.5 + 0.1 * i);
  const RequestMetrics m = request_metrics(start, synthetic(start, times, 50));
  EXPECT_EQ(m.input_tokens, 50);
  EXPECT_EQ(m.output_tokens, 11);
  EXPECT_NEAR(m.ttft_s, 0.5, 1e-6);
  EXPECT_NEAR(m.e2e_s, 1.5, 1e-6);
  EXPECT_NEAR(m.tpot_s, (1.5 - 0.5) / 10, 1e-6);  // (e2e - TTFT) / (output - 1)
  ASSERT_EQ(m.itl_s.size(), 10u);
  for (double gap : m.itl_s) EXPECT_NEAR(gap, 0.1, 1e-6);
  EXPECT_NEAR(m.input_tps, 100, 1e-3);
  EXPECT_NEAR(m.output_tps, 10, 1e-3);
  EXPECT_NEAR(m.overall_tps, 61 / 1.5, 1e-3);
  EXPECT_NEAR(m.peak_tps, 11, 1e-6);  // 11 tokens within the one-second window [0.5, 1.5]
  EXPECT_NEAR(m.rate_stddev, 0, 1e-3);
  ASSERT_EQ(m.tps_per_second.size(), 2u);  // seconds [0, 1) and [1, 2)
  EXPECT_EQ(m.tps_per_second[0], 5);
  EXPECT_EQ(m.tps_per_second[1], 6);
  EXPECT_EQ(m.token_latency_s.size(), 11u);
}

TEST(RequestMetrics, DiscardingWarmUpTokensAndUnevenRates) {
  const auto start = Clock::now();
  // A slow first decode step (0.5 s), then steady 0.1 s gaps.
  const RequestMetrics all = request_metrics(start, synthetic(start, {0.2, 0.7, 0.8, 0.9, 1.0}, 5));
  const RequestMetrics warm =
      request_metrics(start, synthetic(start, {0.2, 0.7, 0.8, 0.9, 1.0}, 5), 1);
  EXPECT_NEAR(all.tpot_s, 0.2, 1e-6);
  EXPECT_NEAR(warm.tpot_s, 0.1, 1e-6);
  EXPECT_EQ(warm.itl_s.size(), 3u);
  EXPECT_NEAR(warm.ttft_s, 0.2, 1e-6);  // TTFT always counts the first token
  EXPECT_GT(all.rate_relative_stddev, 0.3);
  EXPECT_NEAR(warm.rate_relative_stddev, 0, 1e-3);
}

// A fake clock: every timestamp a multiple of 1/8 s from a zero start, so that every gap and sum
// is exact in binary and each figure can be checked to the last bit (or to a rounding of one
// division). First token at 0.5 s, then gaps of 0.125, 0.125, 0.25, 0.125 and 0.5 s.
const std::vector<double> kKnownTimes = {0.5, 0.625, 0.75, 1.0, 1.125, 1.625};

TEST(RequestMetrics, ExactFiguresOnKnownTimestamps) {
  const Clock::time_point start{};
  const RequestMetrics m = request_metrics(start, synthetic(start, kKnownTimes, 8));
  EXPECT_EQ(m.input_tokens, 8);
  EXPECT_EQ(m.output_tokens, 6);
  EXPECT_EQ(m.ttft_s, 0.5);
  EXPECT_EQ(m.e2e_s, 1.625);
  EXPECT_EQ(m.itl_s, (std::vector<double>{0.125, 0.125, 0.25, 0.125, 0.5}));
  EXPECT_EQ(m.token_latency_s, (std::vector<double>{0.5, 0.125, 0.125, 0.25, 0.125, 0.5}));
  EXPECT_DOUBLE_EQ(m.tpot_s, 1.125 / 5);
  EXPECT_EQ(m.input_tps, 16.0);  // 8 prompt tokens in 0.5 s
  EXPECT_DOUBLE_EQ(m.output_tps, 5 / 1.125);
  EXPECT_DOUBLE_EQ(m.overall_tps, 14 / 1.625);
  // Decode tokens at 0, 0.125, 0.25, 0.5, 0.625 and 1.125 s after the first: five fit in a second.
  EXPECT_EQ(m.peak_tps, 5.0);
  // Seconds of the run, counted from the request: three tokens in [0, 1), three in [1, 2).
  EXPECT_EQ(m.tps_per_second, (std::vector<double>{3, 3}));
  // Rates 8, 8, 4, 8, 2 tokens/s: mean 6, sample variance 32 / 4.
  EXPECT_DOUBLE_EQ(m.rate_stddev, std::sqrt(8.0));
  EXPECT_DOUBLE_EQ(m.rate_relative_stddev, std::sqrt(8.0) / 6);
  // The exported percentiles of the ITLs sorted: 0.125, 0.125, 0.125, 0.25, 0.5.
  const nlohmann::json j = request_metrics_json(m, MemoryReport{});
  EXPECT_EQ(j["itl_summary"]["p50"].get<double>(), 0.125);
  EXPECT_DOUBLE_EQ(j["itl_summary"]["p90"].get<double>(), 0.4);   // 0.25 + 0.6 · 0.25
  EXPECT_DOUBLE_EQ(j["itl_summary"]["p99"].get<double>(), 0.49);  // 0.25 + 0.96 · 0.25
  EXPECT_EQ(j["itl_summary"]["max"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["itl_summary"]["mean"].get<double>(), 0.225);
  EXPECT_EQ(j["ttft_s"].get<double>(), 0.5);
  EXPECT_EQ(j["output_tokens"].get<int>(), 6);
}

TEST(RequestMetrics, DiscardFirstLeavesTheWarmUpOutOfEveryDecodeFigure) {
  const Clock::time_point start{};
  const RequestMetrics m = request_metrics(start, synthetic(start, kKnownTimes, 8), 2);
  EXPECT_EQ(m.ttft_s, 0.5);
  EXPECT_EQ(m.itl_s, (std::vector<double>{0.25, 0.125, 0.5}));  // the gaps after token 3
  EXPECT_DOUBLE_EQ(m.tpot_s, 0.875 / 3);
  EXPECT_DOUBLE_EQ(m.output_tps, 3 / 0.875);
  // From token 3 on: 0, 0.25, 0.375 and 0.875 s, all four within the 0.875 s they span (the
  // warm-up tokens would make it five in a second).
  EXPECT_DOUBLE_EQ(m.peak_tps, 4 / 0.875);
  EXPECT_EQ(m.token_latency_s.size(), 6u);  // the trace keeps every token
}

TEST(Table, AlignsColumnsByDisplayWidth) {
  Table t({"Metric", "Value"}, "⚡ Summary");
  t.add_row({"Speed", "43.0 tok/s"});
  t.add_row({"Σ", "1"});
  const std::string out = t.render();
  // Every line has the same display width.
  size_t width = 0;
  for (size_t begin = 0; begin < out.size();) {
    const size_t end = out.find('\n', begin);
    const size_t w = display_width(out.substr(begin, end - begin));
    if (width == 0) width = w;
    EXPECT_EQ(w, width) << out;
    begin = end + 1;
  }
  EXPECT_EQ(display_width("⚡"), 2u);
  EXPECT_EQ(display_width("✅ yes"), 6u);
  EXPECT_EQ(display_width("héllo"), 5u);
}

}  // namespace
}  // namespace kvscope
