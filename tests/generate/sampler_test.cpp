#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace kvscope {
namespace {

const std::vector<float> kLogits = {0.5f, 2.0f, 1.0f, -1.0f, 1.9f, 0.0f};

TEST(Sampler, GreedyIsArgmax) {
  Sampler s(SamplingOptions{});
  EXPECT_EQ(s.sample(kLogits, {}), 1);
  EXPECT_EQ(argmax(std::vector<float>{1, 3, 3, 0}), 1);  // first of equal maxima
}

TEST(Sampler, SameSeedSameSequence) {
  SamplingOptions o;
  o.temperature = 1.0f;
  o.seed = 42;
  Sampler a(o), b(o);
  o.seed = 43;
  Sampler c(o);
  int differ = 0;
  for (int i = 0; i < 50; ++i) {
    const int32_t x = a.sample(kLogits, {});
    EXPECT_EQ(x, b.sample(kLogits, {}));
    differ += x != c.sample(kLogits, {});
  }
  EXPECT_GT(differ, 0);
}

TEST(Sampler, FiltersThatKeepOneTokenAreGreedy) {
  for (int variant = 0; variant < 3; ++variant) {
    SamplingOptions o;
    o.temperature = 1.5f;
    if (variant == 0) o.top_k = 1;
    if (variant == 1) o.top_p = 0.01f;
    if (variant == 2) o.min_p = 0.99f;
    Sampler s(o);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(kLogits, {}), 1) << "variant " << variant;
  }
}

// The tokens that some seed draws, over many seeds: the set a filter leaves, whatever the RNG.
std::set<int32_t> drawable(SamplingOptions o, const std::vector<float>& logits) {
  std::set<int32_t> seen;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    o.seed = seed;
    Sampler s(o);
    for (int i = 0; i < 4; ++i) seen.insert(s.sample(logits, {}));
  }
  return seen;
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.4, 0.3, 0.2, 0.1 (cumulative 0.4, 0.7, 0.9, 1.0), in a shuffled id order.
  const std::vector<float> logits = {std::log(0.3f), std::log(0.1f), std::log(0.4f),
                                     std::log(0.2f)};
  SamplingOptions o;
  o.temperature = 1.0f;
  o.top_p = 0.3f;  // the best token alone reaches it
  EXPECT_EQ(drawable(o, logits), (std::set<int32_t>{2}));
  o.top_p = 0.65f;  // 0.4 falls short, 0.4 + 0.3 reaches it: exactly two tokens
  EXPECT_EQ(drawable(o, logits), (std::set<int32_t>{2, 0}));
  o.top_p = 0.85f;  // three
  EXPECT_EQ(drawable(o, logits), (std::set<int32_t>{2, 0, 3}));
  o.top_p = 0.95f;  // all four
  EXPECT_EQ(drawable(o, logits), (std::set<int32_t>{0, 1, 2, 3}));
}

// On a vocabulary larger than the first head the sampler sorts (64), top-p and min-p keep exactly
// the set a full sort keeps: the head grows until it holds the mass.
TEST(Sampler, TopPAndMinPOnALargeVocabularyKeepWhatAFullSortKeeps) {
  std::vector<float> logits(1000);
  for (size_t i = 0; i < logits.size(); ++i)  // nearly flat, in a scrambled id order
    logits[(i * 617) % logits.size()] = -0.002f * static_cast<float>(i);
  // The reference: the ids by falling logit, as a full sort lists them.
  std::vector<int32_t> order(logits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  double sum = 0;
  for (float l : logits) sum += std::exp(l);
  SamplingOptions o;
  o.temperature = 1.0f;
  o.top_p = 0.5f;
  size_t top_p_count = 0;
  for (double cumulative = 0; cumulative < 0.5; ++top_p_count)
    cumulative += std::exp(logits[order[top_p_count]]) / sum;
  const std::set<int32_t> top_p_set(order.begin(), order.begin() + top_p_count);
  const std::set<int32_t> drawn = drawable(o, logits);
  EXPECT_GT(top_p_count, 250u);
  EXPECT_GT(drawn.size(), 200u);  // far more than the first head of 64
  for (int32_t id : drawn) EXPECT_TRUE(top_p_set.count(id)) << id;

  o.top_p = 1.0f;
  o.min_p = 0.6f;  // keeps logits within log(0.6) = -0.51 of the best: ranks 0 to 255
  std::set<int32_t> min_p_set;
  for (int32_t id : order)
    if (std::exp(logits[id] - logits[order[0]]) >= 0.6) min_p_set.insert(id);
  EXPECT_EQ(min_p_set.size(), 256u);
  const std::set<int32_t> drawn_min_p = drawable(o, logits);
  EXPECT_GT(drawn_min_p.size(), 150u);
  for (int32_t id : drawn_min_p) EXPECT_TRUE(min_p_set.count(id)) << id;
}

TEST(Sampler, TopKKeepsOnlyTheKBest) {
  SamplingOptions o;
  o.temperature = 5.0f;
  o.top_k = 2;
  Sampler s(o);
  for (int i = 0; i < 200; ++i) {
    const int32_t t = s.sample(kLogits, {});
    EXPECT_TRUE(t == 1 || t == 4) << t;
  }
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  SamplingOptions o;
  o.temperature = 1.0f;
  o.seed = 7;
  Sampler s(o);
  std::map<int32_t, int> counts;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) counts[s.sample(kLogits, {})]++;
  double sum = 0;
  for (float l : kLogits) sum += std::exp(l);
  for (size_t i = 0; i < kLogits.size(); ++i) {
    const double p = std::exp(kLogits[i]) / sum;
    EXPECT_NEAR(counts[static_cast<int32_t>(i)] / static_cast<double>(draws), p, 0.015) << i;
  }
}

TEST(Sampler, RepetitionPenaltyAvoidsSeenTokens) {
  SamplingOptions o;
  o.repeat_penalty = 1.2f;
  Sampler s(o);
  const std::vector<int32_t> history = {1};
  // 2.0 / 1.2 = 1.67 falls below token 4's 1.9.
  EXPECT_EQ(s.sample(kLogits, history), 4);
}

// Chat and demo sample as the model file recommends, with llama.cpp's defaults for the rest.
TEST(Sampler, RecommendedSamplingFillsWhatTheFileLeavesOut) {
  const SamplingOptions defaults = recommended_sampling({});
  EXPECT_FLOAT_EQ(defaults.temperature, 0.8f);
  EXPECT_EQ(defaults.top_k, 40);
  EXPECT_FLOAT_EQ(defaults.top_p, 0.95f);
  EXPECT_FLOAT_EQ(defaults.min_p, 0.05f);
  EXPECT_FLOAT_EQ(defaults.repeat_penalty, 1.0f);
  EXPECT_EQ(describe(defaults), "temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, seed 0");

  SamplingHints hints;
  hints.temperature = 0.2f;
  hints.top_k = 0;
  hints.repeat_penalty = 1.1f;
  const SamplingOptions s = recommended_sampling(hints);
  EXPECT_FLOAT_EQ(s.temperature, 0.2f);
  EXPECT_EQ(s.top_k, 0);
  EXPECT_FLOAT_EQ(s.top_p, 0.95f);
  EXPECT_FLOAT_EQ(s.repeat_penalty, 1.1f);
  EXPECT_EQ(describe(SamplingOptions{}), "greedy");
}

}  // namespace
}  // namespace kvscope
