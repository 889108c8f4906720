// Charts built from hand-made result JSON hold exactly its numbers, and the files they are
// drawn into decode: PNG signature and size, SVG with its labels as text.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "report/report_files.h"
#include "report/sample_results.h"
#include "report/suite_report.h"

namespace kvscope::report {
namespace {

using nlohmann::json;
using namespace testing::samples;

const Chart& chart_named(const SuiteReport& r, const std::string& name) {
  for (const Chart& c : r.charts)
    if (c.name == name) return c;
  throw std::runtime_error("no chart " + name);
}

TEST(Charts, TraceHoldsTheMeasuredLatenciesInMilliseconds) {
  const SuiteReport r = read_suite_report(trace_result(), "trace.json");
  EXPECT_EQ(r.suite, "trace");
  const Chart& c = chart_named(r, "trace_latency");
  ASSERT_EQ(c.series.size(), 2u);
  EXPECT_EQ(c.series[0].x, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(c.series[0].y, (std::vector<double>{0.010 * 1e3, 0.012 * 1e3, 0.014 * 1e3}));
  EXPECT_EQ(c.series[1].low, (std::vector<double>{0.009 * 1e3, 0.001 * 1e3, 0.001 * 1e3}));
  EXPECT_EQ(c.series[1].high, (std::vector<double>{0.011 * 1e3, 0.003 * 1e3, 0.003 * 1e3}));
  EXPECT_EQ(c.y_label, "latency (ms)");
  EXPECT_NE(c.subtitle.find("Tiny Model"), std::string::npos);
  EXPECT_NE(c.subtitle.find("Test CPU 9000"), std::string::npos);
}

TEST(Charts, KvCompareBarsAreTheMedianTimesWithTheSpeedup) {
  const SuiteReport r = read_suite_report(kv_compare_result(), "kv.json");
  const Chart& c = chart_named(r, "kv_compare_time");
  EXPECT_EQ(c.kind, ChartKind::kBars);
  EXPECT_EQ(c.categories, (std::vector<std::string>{"none", "concat", "prealloc"}));
  ASSERT_EQ(c.series.size(), 1u);
  EXPECT_EQ(c.series[0].y, (std::vector<double>{4.0, 0.5, 0.4}));
  EXPECT_EQ(c.series[0].labels[2], "0.400 s, 10.00×");
  ASSERT_EQ(r.tables.size(), 1u);
  EXPECT_EQ(r.tables[0].rows[1][2], "8.00×");
}

TEST(Charts, SweepHasThroughputWithMemoryOnTheSecondAxisAndLatenciesAgainstPromptLength) {
  const SuiteReport r = read_suite_report(sweep_result(), "sweep.json");
  const Chart& throughput = chart_named(r, "sweep_throughput");
  // Two strategies × two prompt lengths, each with its memory line.
  ASSERT_EQ(throughput.series.size(), 8u);
  EXPECT_EQ(throughput.series[0].name, "none, 16-token prompt");
  EXPECT_EQ(throughput.series[0].x, (std::vector<double>{1, 2, 4}));
  EXPECT_EQ(throughput.series[0].y, (std::vector<double>{10, 20, 40}));
  EXPECT_TRUE(throughput.series[4].right_axis);
  EXPECT_EQ(throughput.series[4].y, (std::vector<double>{1, 2, 4}));  // MiB
  const Chart& ttft = chart_named(r, "sweep_ttft");
  EXPECT_EQ(ttft.series[0].name, "none, batch 1");
  EXPECT_EQ(ttft.series[0].x, (std::vector<double>{16, 64}));
  EXPECT_DOUBLE_EQ(ttft.series[0].y[1], 64.0);
  EXPECT_EQ(chart_named(r, "sweep_tpot").series.size(), 6u);
}

TEST(Charts, CasesAreGroupedBarsPerStrategy) {
  json cases = json::array();
  for (const std::string name : {"chat", "batch"})
    for (const std::string strategy : {"none", "prealloc"})
      cases.push_back({{"name", name},
                       {"batch", 1},
                       {"new_tokens", 8},
                       {"strategy", strategy},
                       {"seconds", summary(name == "chat" ? 1.0 : 2.0)},
                       {"ttft_s", summary(0.1)},
                       {"tpot_s", summary(0.01)},
                       {"throughput_tps", summary(50)}});
  const SuiteReport r = read_suite_report(
      {{"suite", "cases"}, {"system", system_info()}, {"cases", cases}}, "cases.json");
  const Chart& c = chart_named(r, "cases_time");
  EXPECT_EQ(c.categories, (std::vector<std::string>{"chat", "batch"}));
  ASSERT_EQ(c.series.size(), 2u);
  EXPECT_EQ(c.series[1].name, "prealloc");
  EXPECT_EQ(c.series[1].y, (std::vector<double>{1.0, 2.0}));
}

TEST(Charts, RunShowsTokensPerSecondAndTheOpsBreakdown) {
  const SuiteReport r = read_suite_report(run_result(), "run.json");
  EXPECT_EQ(r.suite, "run");
  EXPECT_NE(r.system.find("tiny.gguf"), std::string::npos);
  EXPECT_EQ(chart_named(r, "run_tokens_per_second").series[0].y, (std::vector<double>{3, 1}));
  EXPECT_DOUBLE_EQ(chart_named(r, "run_token_latency").series[0].y[3], 550);
  const Chart& ops = chart_named(r, "run_ops_by_kind");
  EXPECT_EQ(ops.kind, ChartKind::kHorizontalBars);
  EXPECT_EQ(ops.categories, (std::vector<std::string>{"attention", "feed_forward"}));
  EXPECT_EQ(ops.series[0].y, (std::vector<double>{250, 750}));
  EXPECT_EQ(chart_named(r, "run_ops_by_layer").series[0].y, (std::vector<double>{100, 150}));
}

TEST(Charts, ServeShowsThePercentilesAndEachCompletedRequest) {
  const SuiteReport r = read_suite_report(serve_result(), "serve.json");
  const Chart& latency = chart_named(r, "serve_latency");
  EXPECT_EQ(latency.categories, (std::vector<std::string>{"TTFT", "TPOT", "ITL", "E2EL"}));
  ASSERT_EQ(latency.series.size(), 3u);
  EXPECT_EQ(latency.series[0].y, (std::vector<double>{10, 10, 10, 10}));
  EXPECT_EQ(latency.series[2].name, "p99");
  const Chart& requests = chart_named(r, "serve_requests");
  ASSERT_EQ(requests.series.size(), 2u);
  EXPECT_EQ(requests.series[0].x, (std::vector<double>{1, 3}));  // the failed one left out
  EXPECT_EQ(requests.series[0].y, (std::vector<double>{100, 300}));
  EXPECT_EQ(requests.series[1].y, (std::vector<double>{500, 900}));
  EXPECT_EQ(latency.subtitle, "tiny at http://127.0.0.1:1");
  ASSERT_EQ(r.tables.size(), 1u);
  EXPECT_EQ(r.tables[0].rows[1][1], "12.00");
}

TEST(Charts, ServeResultsAtSeveralConcurrenciesMakeOneChartALinePerServer) {
  const auto at = [](const char* label, int concurrency, double throughput) {
    json r = serve_result();
    r["label"] = label;
    r["max_concurrency"] = concurrency;
    r["output_throughput"] = throughput;
    r["median_ttft_ms"] = r["median_tpot_ms"] = 1.0;
    r["p99_ttft_ms"] = 10.0 * concurrency;
    return r;
  };
  EXPECT_FALSE(serve_concurrency_report({at("a", 8, 1), at("b", 8, 2)}));  // one level only
  const std::optional<SuiteReport> r = serve_concurrency_report(
      {at("kvscope", 8, 300), at("llama-server", 1, 90), at("kvscope", 1, 100),
       at("llama-server", 8, 200), at("kvscope", 8, 320), at("kvscope", 8, 310)});
  ASSERT_TRUE(r);
  const Chart& throughput = chart_named(*r, "serve_throughput");
  ASSERT_EQ(throughput.series.size(), 2u);
  EXPECT_EQ(throughput.series[0].name, "kvscope");  // in the order first seen
  EXPECT_EQ(throughput.series[0].x, (std::vector<double>{1, 8}));
  EXPECT_EQ(throughput.series[0].y, (std::vector<double>{100, 310}));  // the median of three
  EXPECT_EQ(throughput.series[1].y, (std::vector<double>{90, 200}));
  EXPECT_EQ(chart_named(*r, "serve_ttft").series[1].y, (std::vector<double>{10, 80}));
  ASSERT_EQ(r->tables.size(), 1u);
  EXPECT_EQ(r->tables[0].rows[1][2], "3");  // kvscope at 8: three results
}

TEST(Charts, UnknownOrBrokenResultsAreOneLineErrorsNamingTheFile) {
  const auto message = [](const json& j) {
    try {
      read_suite_report(j, "bad.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"hello", 1}}).find("bad.json: not a kvscope result"), std::string::npos);
  EXPECT_NE(message({{"suite", "speed"}}).find("no report for suite 'speed'"), std::string::npos);
  json broken = kv_compare_result();
  broken["strategies"][0].erase("seconds");
  EXPECT_NE(message(broken).find("seconds"), std::string::npos);
  EXPECT_NE(message(json::array()).find("bad.json"), std::string::npos);
}

TEST(Charts, PngAndSvgFilesDecodeAndTheSvgKeepsItsLabelsAsText) {
  const std::string dir = testing::temp_dir("charts");
  const SuiteReport r = read_suite_report(trace_result(), "trace.json");
  const std::vector<std::string> written = write_charts(r, dir, ImageFormat::kBoth);
  ASSERT_EQ(written.size(), 2u);
  const testing::PngSize size = testing::png_size(testing::read_file(dir + "/trace_latency.png"));
  EXPECT_EQ(size.width, 960u);
  EXPECT_EQ(size.height, 540u);
  const std::string svg = testing::read_file(dir + "/trace_latency.svg");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '<'), std::count(svg.begin(), svg.end(), '>'));
  for (const std::string label :
       {">latency (ms)</text>", ">generated token</text>", "Test CPU 9000", "prealloc (mean"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  std::filesystem::remove_all(dir);
}

TEST(Charts, EveryKindDrawsToPng) {
  const std::string dir = testing::temp_dir("kinds");
  for (const json& result : {kv_compare_result(), sweep_result(), run_result()})
    for (const std::string& path :
         write_charts(read_suite_report(result, "x.json"), dir, ImageFormat::kPng))
      EXPECT_GT(testing::png_size(testing::read_file(path)).width, 0u) << path;
  std::filesystem::remove_all(dir);
}

TEST(Charts, TicksAreRoundAndCoverTheRange) {
  EXPECT_EQ(nice_ticks(0, 9.3, 6), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  const std::vector<double> small = nice_ticks(0, 0.037, 6);
  EXPECT_DOUBLE_EQ(small[1], 0.01);
  EXPECT_GE(small.back(), 0.037);
}

}  // namespace
}  // namespace kvscope::report
