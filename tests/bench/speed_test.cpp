// bench speed speaks llama-bench's language: its JSON and CSV fields, in its order and with its
// types, so that a script written for llama-bench reads kvscope's output unchanged.
#include "bench/speed.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "metrics/system.h"
#include "test_paths.h"

namespace kvscope {
namespace {

// tests/fixtures/llama_bench/llama-bench.json is llama-bench's `-o json` output for pp512 and
// tg128 on the default model. llama-bench could not be run where this test was written, so the
// file was written by hand, line by line as llama-bench.cpp's json_printer prints it (its
// test::get_fields() order, then samples_ns and samples_ts).
nlohmann::ordered_json llama_bench_fixture() {
  std::ifstream in(testing::fixture("llama_bench/llama-bench.json"));
  return nlohmann::ordered_json::parse(in);
}

// The JSON kind a reader sees: string, boolean, integer, real or array.
std::string kind(const nlohmann::ordered_json& v) {
  if (v.is_number_float()) return "real";
  if (v.is_number()) return "integer";
  return v.type_name();
}

struct Measured {
  std::unique_ptr<Model> model;
  SpeedReport report;
  std::vector<SpeedResult> results;
  std::vector<nlohmann::ordered_json> records;
};

Measured measure(const std::vector<SpeedTest>& tests) {
  Measured m;
  m.model = Model::load(testing::fixture("models/tiny-llama-q4_1.gguf"));
  m.report.options.repetitions = 2;
  m.report.provenance = provenance_json(m.model->file().path, m.report.options.threads);
  for (const SpeedTest& t : tests) {
    m.results.push_back(run_speed_test(*m.model, t, m.report.options, {CacheStrategy::kPaged})[0]);
    m.records.push_back(llama_bench_record(*m.model, m.results.back(), m.report));
  }
  return m;
}

TEST(LlamaBenchOutput, EveryFieldInLlamaBenchsOrderAndKind) {
  const nlohmann::ordered_json fixture = llama_bench_fixture();
  ASSERT_EQ(fixture.size(), 2u);
  const Measured m = measure({{64, 0, 0, 1}, {0, 16, 8, 1}});
  for (size_t t = 0; t < 2; ++t) {
    std::vector<std::string> theirs, ours;
    for (const auto& [key, value] : fixture[t].items()) {
      theirs.push_back(key);
      ASSERT_TRUE(m.records[t].contains(key)) << key;
      // avg_ts is an integer in no llama-bench file, but a rate may happen to be whole.
      if (key != "avg_ts" && key != "stddev_ts") {
        EXPECT_EQ(kind(m.records[t][key]), kind(value)) << key;
      }
    }
    for (const auto& [key, value] : m.records[t].items()) ours.push_back(key);
    ours.resize(theirs.size());
    EXPECT_EQ(ours, theirs);  // kvscope's own fields come after llama-bench's
  }
  EXPECT_EQ(m.records[0]["n_prompt"], 64);
  EXPECT_EQ(m.records[1]["n_gen"], 16);
  EXPECT_EQ(m.records[1]["n_depth"], 8);
  EXPECT_EQ(m.records[0]["type_k"], "f16");  // llama-bench's default KV type
  EXPECT_EQ(m.records[0]["n_batch"], 2048);
  EXPECT_EQ(m.records[0]["n_ubatch"], 512);
  EXPECT_EQ(m.records[0]["build_commit"], build_info().commit);
  EXPECT_EQ(m.records[0]["model_n_params"].get<int64_t>(), count_parameters(m.model->file()));
}

// What a llama-bench script computes from a record holds for kvscope's: samples_ts is tokens per
// second of each samples_ns, and avg_ns and avg_ts are their means.
TEST(LlamaBenchOutput, TheFiguresAgreeAsLlamaBenchDefinesThem) {
  for (const nlohmann::ordered_json& r : llama_bench_fixture()) {
    const double tokens = r["n_prompt"].get<double>() + r["n_gen"].get<double>();
    for (size_t i = 0; i < r["samples_ns"].size(); ++i)
      EXPECT_NEAR(r["samples_ts"][i].get<double>(), 1e9 * tokens / r["samples_ns"][i].get<double>(),
                  1e-4);
  }
  const Measured m = measure({{16, 0, 0, 1}, {4, 4, 0, 1}, {0, 4, 8, 3}});
  for (const nlohmann::ordered_json& r : m.records) {
    const double tokens =
        (r["n_prompt"].get<double>() + r["n_gen"].get<double>()) * r["n_parallel"].get<double>();
    const auto ns = r["samples_ns"].get<std::vector<uint64_t>>();
    const auto ts = r["samples_ts"].get<std::vector<double>>();
    ASSERT_EQ(ns.size(), 2u);
    ASSERT_EQ(ts.size(), 2u);
    for (size_t i = 0; i < 2; ++i)
      EXPECT_DOUBLE_EQ(ts[i], 1e9 * tokens / static_cast<double>(ns[i]));
    EXPECT_EQ(r["avg_ns"].get<uint64_t>(), (ns[0] + ns[1]) / 2);
    EXPECT_DOUBLE_EQ(r["avg_ts"].get<double>(), (ts[0] + ts[1]) / 2);
  }
  EXPECT_EQ(m.records[2]["n_parallel"], 3);
}

TEST(LlamaBenchOutput, CsvHasLlamaBenchsHeaderAndQuotedValues) {
  const Measured m = measure({{8, 0, 0, 1}});
  const std::string csv = llama_bench_csv(m.records);
  const nlohmann::ordered_json fixture = llama_bench_fixture();
  std::string header;
  for (const auto& [key, value] : fixture[0].items())
    if (key != "samples_ns" && key != "samples_ts") header += (header.empty() ? "" : ",") + key;
  EXPECT_EQ(csv.rfind(header + ",n_parallel,kv_cache,precision,", 0), 0u) << csv;
  std::istringstream lines(csv);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(second.rfind("\"" + build_info().commit + "\",", 0), 0u) << second;
  EXPECT_NE(second.find(",\"0\",\"50\",\"f16\",\"f16\","), std::string::npos)
      << second;  // cpu_strict false as 0
}

}  // namespace
}  // namespace kvscope
