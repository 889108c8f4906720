// bench memory, bench prefix and faithfulness's KV types end to end on the tiny fixture.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "test_paths.h"

namespace kvscope {
namespace {

using testing::fixture;
using testing::run_cli;

nlohmann::json run_json(const std::string& args, const std::string& name) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("kvscope_serving_" + std::to_string(::getpid()) + "_" + name))
                               .string();
  const auto r = run_cli(args + " --json " + path);
  EXPECT_EQ(r.status, 0) << r.err;
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  std::filesystem::remove(path);
  return j;
}

const std::string kTiny = " -m " + fixture("models/tiny-llama-f32.gguf");

// Twelve requests in a budget too small for all of them at once: prealloc reserves each prompt
// plus its declared max_tokens and so wastes most of what it holds and runs fewer at a time.
TEST(BenchMemory, PagingWastesLessAndRunsMoreRequestsAtOnce) {
  const nlohmann::json j =
      run_json("bench memory" + kTiny +
                   " --requests 12 --min-prompt 8 --max-prompt 40 --min-output 4 --max-output 24 "
                   "--max-tokens 64 --kv-budget-mib 1 --kv-type f32 -r 1 --warmup 0 --no-log",
               "memory.json");
  EXPECT_TRUE(j["all_identical"]);
  EXPECT_EQ(j["requests"].size(), 12u);
  std::map<std::string, nlohmann::json> s;
  std::vector<nlohmann::json> fixed;  // the closed batches on prealloc, smallest first
  for (const auto& entry : j["strategies"])
    if (entry["fixed_batch"].get<int>() > 0)
      fixed.push_back(entry);
    else
      s[entry["strategy"]] = entry;
  ASSERT_EQ(s.size(), 3u);
  ASSERT_FALSE(fixed.empty());
  EXPECT_EQ(fixed.front()["fixed_batch"], 1);
  for (const auto& f : fixed) {
    EXPECT_LE(f["peak_requests"].get<int>(), f["fixed_batch"].get<int>());
    EXPECT_EQ(f["preemptions"], 0);
    EXPECT_TRUE(f["identical"]);
  }
  EXPECT_GE(j["best_fixed_batch"].get<int>(), 1);
  EXPECT_GT(j["paged_over_best_fixed_batch"].get<double>(), 0.0);
  EXPECT_GT(s["prealloc"]["waste_percent"].get<double>(),
            2 * s["paged"]["waste_percent"].get<double>());
  EXPECT_LT(s["paged"]["waste_percent"].get<double>(),
            25.0);  // at most the last block of each request
  EXPECT_EQ(s["concat"]["waste_percent"].get<double>(), 0.0);  // exactly its rows
  EXPECT_GE(s["paged"]["peak_requests"].get<int>(), s["prealloc"]["peak_requests"].get<int>());
  for (const auto& [name, entry] : s) {
    EXPECT_EQ(entry["generated_tokens"], j["strategies"][0]["generated_tokens"]) << name;
    EXPECT_LE(entry["peak_bytes_reserved"].get<double>(), 1 << 20) << name;
  }
}

TEST(BenchMemory, ABadMixIsOneLine) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "kvscope_bad_mix.json").string();
  std::ofstream(path) << R"([{"prompt_tokens": 8, "output_tokens": 0}])";
  const auto r = run_cli("bench memory" + kTiny + " --mix " + path + " --no-log");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("kvscope: error: " + path +
                       ": request 1's \"output_tokens\" must be a positive integer"),
            std::string::npos)
      << r.err;
  std::filesystem::remove(path);
}

// Four requests sharing 128 tokens, in flight one at a time: every one after the first reuses the
// shared prompt's 8 blocks of 16, and the outputs are the same bits as without reuse.
TEST(BenchPrefix, ReusesTheSharedPromptAndChangesNothing) {
  const nlohmann::json j =
      run_json("bench prefix" + kTiny +
                   " --requests 4 --shared-tokens 128 --suffix-tokens 8 --new-tokens 4 -r 1 "
                   "--warmup 0 --no-log",
               "prefix.json");
  EXPECT_TRUE(j["identical"]);
  EXPECT_EQ(j["with_reuse"]["cached_tokens"], 3 * 128);
  EXPECT_EQ(j["without_reuse"]["cached_tokens"], 0);
  EXPECT_DOUBLE_EQ(j["hit_rate"].get<double>(), 384.0 / (4 * 136));
  EXPECT_GT(j["ttft_speedup"].get<double>(), 0.0);
}

// The exact path with an f32 cache is the reference itself; an f16 or q8_0 cache strays from it.
TEST(BenchFaithfulness, MeasuresAnyPrecisionAndKvType) {
  const std::string base =
      "bench faithfulness" + kTiny + " --ctx 32 --max-tokens 128 --precision exact --kv-type ";
  const nlohmann::json same = run_json(base + "f32", "f32.json");
  EXPECT_EQ(same["kl"]["max"], 0.0);
  EXPECT_EQ(same["same_top1"], 1.0);
  const nlohmann::json f16 = run_json(base + "f16", "f16.json");
  EXPECT_EQ(f16["kv_type"], "f16");
  EXPECT_GT(f16["kl"]["max"].get<double>(), 0.0);
  EXPECT_LT(f16["kl"]["mean"].get<double>(), 1e-3);
  const nlohmann::json split = run_json(
      "bench faithfulness" + kTiny + " --ctx 32 --max-tokens 128 --precision split", "split.json");
  EXPECT_EQ(split["precision"], "split");
}

TEST(BenchFaithfulness, AblationSplitsOneMatrixKindAtATime) {
  const nlohmann::json j =
      run_json("bench faithfulness" + kTiny + " --ctx 32 --max-tokens 128 --ablate", "ablate.json");
  ASSERT_EQ(j["ablation"].size(), 7u);
  EXPECT_EQ(j["ablation"][0]["split_matrices"], "");
  EXPECT_EQ(j["ablation"][1]["split_matrices"], "qkv");
  EXPECT_EQ(j["ablation"][5]["split_matrices"], "head");
  EXPECT_EQ(j["ablation"][6]["split_matrices"], "qkv,attn_out,ffn_in,ffn_down,head");
}

}  // namespace
}  // namespace kvscope
