#pragma once
// Hand-made results in the shapes the suites write (kv-compare, trace, sweep, run with the ops
// breakdown), with round numbers the tests can look for.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace kvscope::testing::samples {

using nlohmann::json;

inline json summary(double median) {
  return {{"count", 3},     {"min", median * 0.9},  {"median", median},
          {"mean", median}, {"max", median * 1.1},  {"stddev", 0.01},
          {"p50", median},  {"p90", median * 1.05}, {"p99", median * 1.09}};
}

inline json system_info() {
  return {{"kvscope_version", "0.1.0"},
          {"git_commit", "0123456789ab"},
          {"git_dirty", false},
          {"build_number", 42},
          {"compiler", "GNU 12.2.0"},
          {"compiler_flags", "-O3 -DNDEBUG"},
          {"build_type", "Release"},
          {"cpu", "Test CPU 9000"},
          {"cpu_vendor", "AuthenticAMD"},
          {"cpu_family", 23},
          {"cpu_model", 49},
          {"cpu_flags", "fpu sse2 avx2 fma f16c"},
          {"isa", "avx2"},
          {"threads", 2},
          {"model", "/m/tiny.gguf"},
          {"model_sha256", "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},
          {"date", "2026-12-01T21:40:00Z"},
          {"model_name", "Tiny Model"}};
}

inline json trace_result() {
  return {{"suite", "trace"},
          {"system", system_info()},
          {"prompt_tokens", 5},
          {"new_tokens", 3},
          {"repetitions", 2},
          {"strategies",
           {{{"strategy", "none"},
             {"mean_latency_s", {0.010, 0.012, 0.014}},
             {"min_latency_s", {0.009, 0.011, 0.013}},
             {"max_latency_s", {0.011, 0.013, 0.015}}},
            {{"strategy", "prealloc"},
             {"mean_latency_s", {0.010, 0.002, 0.002}},
             {"min_latency_s", {0.009, 0.001, 0.001}},
             {"max_latency_s", {0.011, 0.003, 0.003}}}}}};
}

inline json kv_compare_result() {
  json strategies = json::array();
  for (const auto& [name, seconds] : std::vector<std::pair<std::string, double>>{
           {"none", 4.0}, {"concat", 0.5}, {"prealloc", 0.4}})
    strategies.push_back({{"strategy", name},
                          {"seconds", summary(seconds)},
                          {"ttft_s", summary(0.07)},
                          {"tpot_s", summary(0.004)},
                          {"output_tps", summary(100 / seconds)},
                          {"kv_bytes_reserved", 6 << 20},
                          {"identical", true},
                          {"output_ids", {1, 2}},
                          {"logits_hash", "00"}});
  return {{"suite", "kv-compare"}, {"system", system_info()}, {"prompt_tokens", 50},
          {"new_tokens", 100},     {"repetitions", 3},        {"warmup", 1},
          {"all_identical", true}, {"strategies", strategies}};
}

inline json sweep_result() {
  json points = json::array();
  for (const std::string strategy : {"none", "prealloc"})
    for (int batch : {1, 2, 4})
      for (int prompt : {16, 64})
        points.push_back(
            {{"prompt_tokens", prompt},
             {"new_tokens", 8},
             {"batch", batch},
             {"strategy", strategy},
             {"seconds", summary(batch * 0.1)},
             {"ttft_s", summary(prompt * 1e-3 * batch)},
             {"tpot_s", summary(strategy == "none" ? 0.02 : 0.004)},
             {"throughput_tps", summary(strategy == "none" ? 10.0 * batch : 100.0 * batch)},
             {"kv_bytes_reserved", batch * (1 << 20)},
             {"identical", true}});
  return {{"suite", "sweep"},
          {"system", system_info()},
          {"repetitions", 3},
          {"warmup", 1},
          {"points", points}};
}

inline json run_result() {
  json sequence = {{"input_tokens", 5},       {"output_tokens", 4},
                   {"ttft_s", 0.05},          {"e2e_s", 1.5},
                   {"tpot_s", 0.4},           {"output_tps", 2.5},
                   {"peak_tps", 3.0},         {"token_latency_s", {0.05, 0.4, 0.5, 0.55}},
                   {"tps_per_second", {3, 1}}};
  return {{"model", "/m/tiny.gguf"},
          {"cpu", "Test CPU 9000"},
          {"isa", "scalar"},
          {"threads", 1},
          {"cache", "prealloc"},
          {"sequences", {sequence}},
          {"ops",
           {{"total_s", 1.0},
            {"by_kind",
             {{{"kind", "attention"}, {"seconds", 0.25}, {"calls", 8}, {"share", 0.25}},
              {{"kind", "feed_forward"}, {"seconds", 0.75}, {"calls", 8}, {"share", 0.75}}}},
            {"by_layer",
             {{{"layer", 0}, {"kind", "attention"}, {"seconds", 0.1}, {"calls", 4}},
              {{"layer", 1}, {"kind", "attention"}, {"seconds", 0.15}, {"calls", 4}}}}}}};
}

// What bench serve writes for three requests, the second of which failed.
inline json serve_result() {
  json r = {{"suite", "serve"},
            {"model_id", "tiny"},
            {"base_url", "http://127.0.0.1:1"},
            {"num_prompts", 3},
            {"completed", 2},
            {"failed", 1},
            {"request_throughput", 1.5},
            {"output_throughput", 12.0},
            {"total_token_throughput", 40.0},
            {"request_goodput", 1.0},
            {"output_lens", {8, 0, 8}},
            {"ttfts", {0.1, 0.0, 0.3}},
            {"e2els", {0.5, 0.0, 0.9}}};
  for (const char* p : {"p50", "p90", "p99"})
    for (const char* m : {"ttft", "tpot", "itl", "e2el"})
      r[std::string(p) + "_" + m + "_ms"] = std::string(p) == "p50" ? 10.0 : 20.0;
  return r;
}

}  // namespace kvscope::testing::samples
