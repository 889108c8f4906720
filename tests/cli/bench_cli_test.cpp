// The measuring suites end to end on the tiny fixture and the default model: every output (console
// table, JSON, CSV, log) is written, the statistics are there, Ctrl-C keeps what was measured.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "metrics/system.h"
#include "test_paths.h"

namespace kvscope {
namespace {

using testing::fixture;
using testing::run_cli;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("kvscope_bench_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

void expect_summary(const nlohmann::json& s, int count) {
  EXPECT_EQ(s["count"], count);
  for (const char* stat : {"min", "median", "mean", "max", "stddev", "p50", "p90", "p99"})
    EXPECT_TRUE(s.contains(stat)) << stat;
  EXPECT_LE(s["min"].get<double>(), s["median"].get<double>());
  EXPECT_LE(s["median"].get<double>(), s["max"].get<double>());
  EXPECT_LE(s["p90"].get<double>(), s["p99"].get<double>());
}

// Runs a suite with every output, twice into the same log; returns its JSON.
nlohmann::json run_suite(const std::string& model, const std::string& suite,
                         const std::string& args, const std::string& csv_header_start) {
  const std::string json = temp_path(suite + ".json"), csv = temp_path(suite + ".csv"),
                    log = temp_path(suite + ".log");
  std::filesystem::remove(log);
  for (int run = 0; run < 2; ++run) {
    const auto r = run_cli("bench " + suite + " -m '" + model + "' " + args + " --json '" + json +
                           "' --csv '" + csv + "' --log-file '" + log + "' --log-level detailed");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("╭"), std::string::npos) << r.out;  // the box-drawn table
  }
  const std::string csv_text = read_all(csv);
  EXPECT_EQ(csv_text.rfind(csv_header_start, 0), 0u) << csv_text.substr(0, 200);
  const std::string log_text = read_all(log);
  EXPECT_EQ(count_of(log_text, "KVSCOPE " + suite + "\n"), 2)
      << log_text;  // appended run after run
  EXPECT_EQ(count_of(log_text, std::string(80, '=')), 4);
  EXPECT_EQ(count_of(log_text, "Result (JSON):"), 2);  // --log-level detailed
  return nlohmann::json::parse(read_all(json));
}

TEST(BenchCli, SweepOnTheTinyModel) {
  const nlohmann::json j =
      run_suite(fixture("models/tiny-llama-q4_1.gguf"), "sweep",
                "--prompt-tokens 4,12 --new-tokens 5 --batch 1,3 -r 3 --warmup 1",
                "name,strategy,batch,prompt_tokens,new_tokens,runs,seconds_median,");
  EXPECT_EQ(j["suite"], "sweep");
  EXPECT_TRUE(j["all_identical"]);
  EXPECT_FALSE(j["interrupted"]);
  ASSERT_EQ(j["points"].size(), 8u);  // 2 prompts × 1 length × 2 batches × 2 strategies
  for (const auto& p : j["points"]) {
    for (const char* figure : {"seconds", "ttft_s", "tpot_s", "throughput_tps"})
      expect_summary(p[figure], 3);
    EXPECT_GT(p["kv_bytes_reserved"].get<uint64_t>(), 0u);
  }
  EXPECT_EQ(j["points"][7]["batch"], 3);
  EXPECT_EQ(j["points"][7]["prompt_tokens"], 12);
  EXPECT_EQ(j["points"][7]["strategy"], "paged");
}

TEST(BenchCli, CasesBuiltInAndFromAFile) {
  const std::string model = fixture("models/tiny-llama-q4_1.gguf");
  nlohmann::json j =
      run_suite(model, "cases", "--new-tokens 3 -r 2 --warmup 0", "name,strategy,batch,");
  ASSERT_EQ(j["cases"].size(), 10u);
  EXPECT_EQ(j["cases"][8]["name"], "batch_3_mixed");
  EXPECT_EQ(j["cases"][8]["batch"], 3);
  const std::string file = temp_path("cases_in.json");
  std::ofstream(file)
      << R"({"cases": [{"name": "pair", "prompts": ["Hello", "Why is it"], "new_tokens": 2}]})";
  j = run_suite(model, "cases",
                "--cases '" + file + "' -r 1 --warmup 0 --strategies concat,prealloc", "name,");
  ASSERT_EQ(j["cases"].size(), 2u);
  EXPECT_EQ(j["cases"][0]["strategy"], "concat");
  EXPECT_EQ(j["cases"][0]["new_tokens"], 2);
  const auto bad = run_cli("bench cases -m '" + model + "' --no-log --cases /nonexistent.json");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("cannot open the cases file"), std::string::npos) << bad.err;
}

TEST(BenchCli, KvCompareAndTraceOnTheTinyModel) {
  const std::string model = fixture("models/tiny-llama-q4_1.gguf");
  nlohmann::json j =
      run_suite(model, "kv-compare", "--prompt-tokens 10 --new-tokens 6 -r 2 --warmup 0", "name,");
  EXPECT_TRUE(j["all_identical"]);
  EXPECT_EQ(j["complexity"]["token_ops_with_cache"], 15);  // the prompt and 5 of the 6 tokens
  EXPECT_EQ(j["baseline"], "none");
  EXPECT_EQ(j["strategies"][0]["speedup"], 1.0);
  ASSERT_EQ(j["strategies"].size(), 4u);
  expect_summary(j["strategies"][0]["seconds"], 2);
  EXPECT_EQ(j["strategies"][0]["output_ids"].size(), 6u);
  EXPECT_EQ(j["system"]["model_sha256"], sha256_hex(model));  // where it came from
  EXPECT_EQ(j["system"]["git_commit"], build_info().commit);
  j = run_suite(model, "trace", "--prompt-tokens 10 --new-tokens 6 -r 2 --warmup 0",
                "token,none_mean_s,none_min_s,");
  ASSERT_EQ(j["strategies"].size(), 2u);
  EXPECT_EQ(j["strategies"][1]["mean_latency_s"].size(), 6u);
  EXPECT_EQ(j["system"]["model_sha256"], sha256_hex(model));
}

// llama-bench's command line works as it is: its one-dash flags, its defaults, its JSON and CSV.
TEST(BenchCli, SpeedTakesLlamaBenchsFlags) {
  const std::string model =
      "bench speed -m '" + fixture("models/tiny-llama-q4_1.gguf") + "' -r 1 -t 1 ";
  auto r = run_cli(model + "-p 8 -n 4 -pg 4,2 -d 0 -b 256 -ub 64 -ctk f16 -ctv f16 -o json");
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["n_prompt"], 8);
  EXPECT_EQ(j[1]["n_gen"], 4);
  EXPECT_EQ(j[2]["n_prompt"], 4);
  EXPECT_EQ(j[2]["n_gen"], 2);
  EXPECT_EQ(j[0]["n_batch"], 256);
  EXPECT_EQ(j[0]["n_ubatch"], 64);
  EXPECT_EQ(j[0]["type_v"], "f16");
  EXPECT_EQ(j[0]["n_threads"], 1);
  EXPECT_EQ(j[0]["provenance"]["model_sha256"].get<std::string>().size(), 64u);
  r = run_cli(model + "-p 0 -n 3 -npl 2 -ctk f32 -ctv f32 -o csv");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("build_commit,build_number,cpu_info,", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\"f32\",\"f32\""), std::string::npos) << r.out;
  EXPECT_EQ(count_of(r.out, "\n"), 2);
  r = run_cli(model + "-p 0 -n 3 -o jsonl");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["type_k"], "f16");
  r = run_cli(model + "-p 8 -ctk f32");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("-ctk f32 and -ctv f16 differ"), std::string::npos) << r.err;
  r = run_cli(model + "-pg 8");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("-pg takes a pair"), std::string::npos) << r.err;
  const auto help = run_cli("bench speed --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("-npl"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("prefills a whole prompt in one step"), std::string::npos) << help.out;
}

TEST(BenchCli, CtrlCStopsCleanlyAndKeepsWhatWasMeasured) {
  const std::string json = temp_path("interrupted.json"), out = temp_path("interrupted.out");
  std::filesystem::remove(json);
  // A script, so that $! and $pid reach bash. A watchdog bounds the test should the signal be lost
  // (not timeout(1): it forwards a SIGINT both to its child and to its process group, a second
  // Ctrl-C that ends the process at once).
  const std::string script = temp_path("interrupt.sh");
  std::ofstream(script)
      << "'" << testing::cli() << "' bench sweep -m '" << fixture("models/tiny-llama-q4_1.gguf")
      << "' --prompt-tokens 4 --new-tokens 3 --batch 1 -r 1000000 --warmup 0 --no-log --json '"
      << json << "' >'" << out
      << "' 2>/dev/null &\npid=$!\n(sleep 120; kill -KILL $pid) >/dev/null 2>&1 &\n"
      << "watchdog=$!\nsleep 1.5\nkill -INT $pid\nwait $pid\nstatus=$?\nkill $watchdog\nexit "
         "$status\n";
  EXPECT_EQ(std::system(("bash '" + script + "'").c_str()), 0);
  const nlohmann::json j = nlohmann::json::parse(read_all(json));
  EXPECT_TRUE(j["interrupted"]);
  EXPECT_GT(j["repetitions_done"].get<int>(), 0);
  EXPECT_LT(j["repetitions_done"].get<int>(), 1000000);
  EXPECT_NE(read_all(out).find("Interrupted (Ctrl-C)"), std::string::npos);
}

TEST(BenchCli, RunDetailedMetricsWritesTheBreakdownAndAChromeTrace) {
  const std::string metrics = temp_path("run_metrics.json"), trace = temp_path("run_trace.json"),
                    log = temp_path("run.log");
  const auto r =
      run_cli("run -m '" + fixture("models/tiny-llama-q4_1.gguf") +
              "' -p 'Hello world' -n 5 --metrics " + "--detailed-metrics --metrics-json '" +
              metrics + "' --trace-json '" + trace + "' --log-file '" + log + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("Layer performance"), std::string::npos);
  EXPECT_NE(r.err.find("Roofline (decode)"), std::string::npos);
  const nlohmann::json m = nlohmann::json::parse(read_all(metrics));
  EXPECT_EQ(m["system"]["model_sha256"], sha256_hex(fixture("models/tiny-llama-q4_1.gguf")));
  EXPECT_EQ(m["system"]["kvscope_version"], build_info().version);
  double share = 0;
  for (const auto& k : m["ops"]["by_kind"]) share += k["share"].get<double>();
  EXPECT_NEAR(share, 1.0, 1e-9);  // the kinds and "other" make up the whole run
  EXPECT_EQ(m["ops"]["by_kind"][2]["kind"], "attention");
  EXPECT_EQ(m["ops"]["by_kind"][2]["calls"], 5 * 2);  // 5 steps × 2 layers
  EXPECT_GT(m["roofline"]["bytes_per_token"].get<double>(), 0);
  const nlohmann::json t = nlohmann::json::parse(read_all(trace));
  int complete = 0, instants = 0;
  for (const auto& e : t["traceEvents"]) {
    complete += e["ph"] == "X";
    instants += e["ph"] == "i";
  }
  EXPECT_EQ(instants, 5);
  EXPECT_EQ(complete,
            5 * (1 + 2 * 4 +
                 3));  // embedding, 2 layers × (2 norms, attention, ffn), norm, head, sampling
  EXPECT_NE(read_all(log).find("KVSCOPE run"), std::string::npos);
}

TEST(BenchCli, EverySuiteRunsOnTheDefaultModel) {
  const std::string model = testing::default_model();
  if (model.empty()) GTEST_SKIP() << "the default model is not fetched (scripts/fetch_model.sh)";
  for (const std::string& args :
       {std::string("sweep --prompt-tokens 6 --new-tokens 3 --batch 1,2 -r 1 --warmup 0"),
        std::string("cases --new-tokens 2 -r 1 --warmup 0 --strategies concat,prealloc"),
        std::string("kv-compare --prompt-tokens 6 --new-tokens 3 -r 1 --warmup 0"),
        std::string("trace --prompt-tokens 6 --new-tokens 3 -r 1 --warmup 0")}) {
    const auto r = run_cli("bench " + args + " -m '" + model + "' --no-log");
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    EXPECT_NE(r.out.find("Smollm2"), std::string::npos) << args << "\n" << r.out;
  }
}

}  // namespace
}  // namespace kvscope
