// The fast path on K-quant mixes (Q4_K, Q5_K and Q6_K matrices, and the Q5_0, Q5_1 and Q8_0 that
// llama-quantize falls back to for rows of 576): logits bitwise identical across cache strategies
// and alone or in a batch. The tiny Q4_K_M fixture always runs; the default model's Q4_K_M and
// Q5_K_M copies (scripts/build_llama_cpp.sh --quantize) run where they have been made.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "generate/session.h"
#include "kernels/cpu/dispatch.h"
#include "test_paths.h"

namespace kvscope {
namespace {

using Steps = std::vector<std::vector<std::vector<float>>>;  // [sequence][step][vocab]

Steps greedy_logits(const Model& model, CacheStrategy cache, int n_seqs,
                    const std::vector<std::vector<int32_t>>& prompts, int new_tokens) {
  SessionOptions o;
  o.precision = Precision::kFast;
  o.cache = cache;
  o.n_seqs = n_seqs;
  o.n_ctx = 128;
  o.kv_type = KvType::kF16;
  Session session(model, o);
  GenerateOptions g;
  g.max_new_tokens = new_tokens;
  g.stop_at_end_token = false;
  Steps steps(prompts.size());
  g.on_logits = [&](int seq, std::span<const float> l) {
    steps[seq].emplace_back(l.begin(), l.end());
  };
  session.generate(prompts, g);
  return steps;
}

void expect_cache_and_batch_invariant(const Model& model) {
  if (kernels().dot_packed != nullptr) {
    EXPECT_GT(model.packed_bytes(), 0u);
  }
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> token(0, model.config().vocab_size - 1);
  std::vector<std::vector<int32_t>> prompts;
  for (int length : {5, 9, 3, 12}) {
    prompts.emplace_back();
    for (int i = 0; i < length; ++i) prompts.back().push_back(token(rng));
  }
  const int steps = 8;
  const Steps batch = greedy_logits(model, CacheStrategy::kPrealloc, 4, prompts, steps);
  for (size_t i = 0; i < prompts.size(); ++i) {
    for (CacheStrategy s : {CacheStrategy::kPrealloc, CacheStrategy::kPaged, CacheStrategy::kNone,
                            CacheStrategy::kConcat}) {
      if (i > 0 && s != CacheStrategy::kPrealloc) continue;  // every strategy on the first
      const Steps alone = greedy_logits(model, s, 1, {prompts[i]}, steps);
      ASSERT_EQ(alone[0].size(), batch[i].size());
      for (size_t step = 0; step < alone[0].size(); ++step)
        ASSERT_EQ(alone[0][step], batch[i][step])
            << strategy_name(s) << " prompt " << i << " step " << step;
    }
  }
}

TEST(KQuantMix, TinyQ4KMFastPathIsCacheAndBatchInvariant) {
  const auto model = Model::load(testing::fixture("models/tiny-llama-q4_k_m.gguf"));
  expect_cache_and_batch_invariant(*model);
}

class DefaultModelKMix : public ::testing::TestWithParam<const char*> {};

TEST_P(DefaultModelKMix, FastPathIsCacheAndBatchInvariant) {
  const char* cache = std::getenv("KVSCOPE_CACHE");
  const char* home = std::getenv("HOME");
  const std::filesystem::path root =
      cache != nullptr ? cache
                       : std::filesystem::path(home != nullptr ? home : "") / ".cache/kvscope";
  const auto path =
      root / "models" / (std::string("SmolLM2-135M-Instruct.") + GetParam() + ".gguf");
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << path << " not made (scripts/build_llama_cpp.sh --quantize)";
  const auto model = Model::load(path.string());
  expect_cache_and_batch_invariant(*model);
}

INSTANTIATE_TEST_SUITE_P(Copies, DefaultModelKMix, ::testing::Values("Q4_K_M", "Q5_K_M"));

}  // namespace
}  // namespace kvscope
