// The default model against transformers (scripts/make_default_model_goldens.py), and the
// exactness of the cache strategies and of batching on it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "generate/session.h"
#include "test_paths.h"

namespace kvscope {
namespace {

#ifdef KVSCOPE_SANITIZED
constexpr int kNewTokens = 4;  // the sanitizers make every token ~20x slower
#else
constexpr int kNewTokens = 32;
#endif

class DefaultModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = testing::default_model();
    if (path.empty()) return;
    model_ = Model::load(path).release();
    std::ifstream in(testing::fixture("default_model/goldens.json"));
    goldens_ = new nlohmann::json(nlohmann::json::parse(in));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete goldens_;
  }
  void SetUp() override {
    if (model_ == nullptr) GTEST_SKIP() << "default model not fetched (scripts/fetch_model.sh)";
  }

  // The reference comparisons run the exact path; the identity tests the (default) fast one.
  static SessionOptions options(CacheStrategy cache, int n_seqs = 1, KvType type = KvType::kF32,
                                Precision precision = Precision::kFast) {
    SessionOptions o;
    o.precision = precision;
    o.cache = cache;
    o.n_seqs = n_seqs;
    o.n_ctx = 512;
    o.kv_type = type;
    return o;
  }

  // Greedy generation recording every step's logits per sequence.
  static std::vector<std::vector<std::vector<float>>> greedy_logits(
      const SessionOptions& o, const std::vector<std::vector<int32_t>>& prompts, int new_tokens) {
    Session session(*model_, o);
    GenerateOptions g;
    g.max_new_tokens = new_tokens;
    g.stop_at_end_token = false;
    std::vector<std::vector<std::vector<float>>> steps(prompts.size());
    g.on_logits = [&](int seq, std::span<const float> l) {
      steps[seq].emplace_back(l.begin(), l.end());
    };
    session.generate(prompts, g);
    return steps;
  }

  static inline Model* model_ = nullptr;
  static inline nlohmann::json* goldens_ = nullptr;
};

TEST_F(DefaultModel, TeacherForcedLogitsMatchTransformers) {
  const std::vector<int32_t> ids = (*goldens_)["text_ids"];
  Session session(*model_, options(CacheStrategy::kPrealloc, 1, KvType::kF32, Precision::kExact));
  const std::vector<float> logits = session.score(ids);
  const int vocab = model_->config().vocab_size;
  int agree = 0;
  double max_diff = 0;
  for (size_t p = 0; p < ids.size(); ++p) {
    const float* row = &logits[p * vocab];
    agree += std::max_element(row, row + vocab) - row == (*goldens_)["text_top1"][p].get<int>();
    for (size_t j = 0; j < (*goldens_)["top_ids"][p].size(); ++j) {
      const double want = (*goldens_)["top_logits"][p][j];
      max_diff = std::max(max_diff, std::fabs(row[(*goldens_)["top_ids"][p][j].get<int>()] - want));
    }
  }
  RecordProperty("top1_agreement", agree);
  RecordProperty("max_abs_logit_diff", std::to_string(max_diff));
  EXPECT_GE(agree, static_cast<int>(std::ceil(0.99 * static_cast<double>(ids.size()))));
  // f32 over the same dequantized weights; only the summation order differs from torch.
  EXPECT_LE(max_diff, 1e-3);
}

TEST_F(DefaultModel, GreedyContinuationsMatchTransformers) {
  int ended = 0;
  for (const auto& case_ : (*goldens_)["greedy"]) {
    Session session(*model_, options(CacheStrategy::kPrealloc, 1, KvType::kF32, Precision::kExact));
    GenerateOptions g;
    g.max_new_tokens = kNewTokens;
    const auto result = session.generate({case_["prompt_ids"].get<std::vector<int32_t>>()}, g);
    const std::vector<int32_t> want = case_["output_ids"];
    const std::vector<int32_t>& got = result.sequences[0].output;
    // transformers includes the end token in its output; kvscope stops before it.
    const size_t n = std::min<size_t>(kNewTokens, want.size());
    for (size_t i = 0; i < n; ++i) {
      if (i == got.size()) {
        EXPECT_EQ(result.sequences[0].stop, StopReason::kEndToken);
        ++ended;
        EXPECT_TRUE(std::find(model_->tokenizer().end_ids().begin(),
                              model_->tokenizer().end_ids().end(),
                              want[i]) != model_->tokenizer().end_ids().end());
        break;
      }
      ASSERT_EQ(got[i], want[i]) << "token " << i << " of " << case_["prompt"];
    }
  }
#ifndef KVSCOPE_SANITIZED
  EXPECT_GE(ended, 2);  // "The capital of France is" and "What is 2 plus 3?" end within 32 tokens
#endif
}

TEST_F(DefaultModel, CacheStrategiesGiveBitwiseIdenticalLogits) {
  const std::vector<int32_t> prompt = (*goldens_)["greedy"][1]["prompt_ids"];
  for (Precision precision : {Precision::kFast, Precision::kInt8, Precision::kSplit})
    for (KvType type : {KvType::kF32, KvType::kF16}) {
      const auto reference = greedy_logits(options(CacheStrategy::kPrealloc, 1, type, precision),
                                           {prompt}, kNewTokens);
      for (CacheStrategy s : {CacheStrategy::kNone, CacheStrategy::kConcat}) {
        const auto other = greedy_logits(options(s, 1, type, precision), {prompt}, kNewTokens);
        ASSERT_EQ(other[0].size(), reference[0].size());
        for (size_t step = 0; step < reference[0].size(); ++step)
          ASSERT_EQ(other[0][step], reference[0][step])
              << precision_name(precision) << " " << strategy_name(s) << " " << kv_type_name(type)
              << " step " << step;
      }
    }
}

// Split activations carry about 15 bits where the fast path's carry 8: their logits stray from
// the exact path's a small fraction as far, and pick the same top token wherever the exact does.
// The fast path's outlier blocks take it closer than 8-bit activations alone (int8).
TEST_F(DefaultModel, SplitActivationsStayCloseToTheExactPath) {
  const std::vector<int32_t> ids = (*goldens_)["text_ids"];
  const auto score = [&](Precision p) {
    Session session(*model_, options(CacheStrategy::kPrealloc, 1, KvType::kF32, p));
    return session.score(ids);
  };
  const std::vector<float> exact = score(Precision::kExact), fast = score(Precision::kFast),
                           int8 = score(Precision::kInt8), split = score(Precision::kSplit);
  const int vocab = model_->config().vocab_size;
  double fast_error = 0, int8_error = 0, split_error = 0, fast_sum = 0, int8_sum = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    fast_error = std::max<double>(fast_error, std::fabs(fast[i] - exact[i]));
    int8_error = std::max<double>(int8_error, std::fabs(int8[i] - exact[i]));
    split_error = std::max<double>(split_error, std::fabs(split[i] - exact[i]));
    fast_sum += std::fabs(fast[i] - exact[i]);
    int8_sum += std::fabs(int8[i] - exact[i]);
  }
  RecordProperty("fast_max_abs_diff", std::to_string(fast_error));
  RecordProperty("int8_max_abs_diff", std::to_string(int8_error));
  RecordProperty("split_max_abs_diff", std::to_string(split_error));
  RecordProperty("fast_over_int8_mean_abs_diff", std::to_string(fast_sum / int8_sum));
  EXPECT_LT(split_error, fast_error / 20);
  EXPECT_LT(fast_sum, int8_sum * 0.75) << "mean absolute differences from the exact logits";
  for (size_t p = 0; p < ids.size(); ++p) {
    const float* e = &exact[p * vocab];
    const float* s = &split[p * vocab];
    EXPECT_EQ(std::max_element(s, s + vocab) - s, std::max_element(e, e + vocab) - e)
        << "position " << p;
  }
}

// The fast path with every matrix kind split is the split precision, bit for bit; one kind split
// differs from both.
TEST_F(DefaultModel, SplitMatrixKindsReachTheirMatrices) {
  const std::vector<int32_t> ids = (*goldens_)["greedy"][1]["prompt_ids"];
  const auto score = [&](Precision p, MatrixKinds kinds) {
    SessionOptions o = options(CacheStrategy::kPrealloc, 1, KvType::kF32, p);
    o.split_kinds = kinds;
    Session session(*model_, o);
    return session.score(ids);
  };
  MatrixKinds all = 0;
  for (MatrixKind k : kMatrixKinds) all |= matrix_kind_bit(k);
  const auto split = score(Precision::kSplit, 0);
  EXPECT_EQ(score(Precision::kFast, all), split);
  const auto one = score(Precision::kFast, matrix_kind_bit(MatrixKind::kFeedForwardIn));
  EXPECT_NE(one, split);
  EXPECT_NE(one, score(Precision::kFast, 0));
}

TEST_F(DefaultModel, ASequenceAloneOrInABatchGivesBitwiseIdenticalLogits) {
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& case_ : (*goldens_)["greedy"]) prompts.push_back(case_["prompt_ids"]);
  prompts.resize(4);  // lengths 5 to 10 tokens: a mixed batch
  const int steps = std::min(kNewTokens, 8);
  for (CacheStrategy s : {CacheStrategy::kPrealloc, CacheStrategy::kNone}) {
    const auto batch = greedy_logits(options(s, 4), prompts, steps);
    for (size_t i = 0; i < prompts.size(); ++i) {
      const auto alone = greedy_logits(options(s, 1), {prompts[i]}, steps);
      ASSERT_EQ(alone[0].size(), batch[i].size());
      for (size_t step = 0; step < alone[0].size(); ++step)
        ASSERT_EQ(alone[0][step], batch[i][step])
            << strategy_name(s) << " prompt " << i << " step " << step;
    }
  }
}

}  // namespace
}  // namespace kvscope
