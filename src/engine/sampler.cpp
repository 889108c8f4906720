#include "engine/sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace kvscope {

int32_t argmax(std::span<const float> logits) {
  // The first of equal maxima wins, as torch.argmax does.
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

namespace {

// A uniform number in [0, 1) from (seed, index) alone: splitmix64's finalizer on both.
double keyed_uniform(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

}  // namespace

// How many of the sorted probabilities top-p keeps: the fewest whose sum reaches it; all of the
// `n` given when they fall short (the caller then gives more, if there are more).
size_t Sampler::top_p_keep(const std::vector<double>& probs, size_t n) const {
  if (options_.top_p >= 1.0f) return n;
  double cumulative = 0;
  for (size_t i = 0; i < n; ++i) {
    cumulative += probs[i];
    if (cumulative >= options_.top_p) return i + 1;
  }
  return n;
}

Sampler::Sampler(const SamplingOptions& options) : options_(options) {}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) candidates_[i] = {static_cast<int32_t>(i), logits[i]};
  if (options_.repeat_penalty != 1.0f) {
    // As transformers' RepetitionPenaltyLogitsProcessor: shrink positive logits, grow negative.
    const std::unordered_set<int32_t> seen(history.begin(), history.end());
    for (int32_t id : seen) {
      if (id < 0 || static_cast<size_t>(id) >= candidates_.size()) continue;
      float& l = candidates_[id].logit;
      l = l > 0 ? l / options_.repeat_penalty : l * options_.repeat_penalty;
    }
  }
  const uint64_t index = draws_++;
  const auto best =
      std::max_element(candidates_.begin(), candidates_.end(),
                       [](const Candidate& a, const Candidate& b) { return a.logit < b.logit; });
  if (options_.temperature <= 0.0f) return best->id;

  // Candidates sorted by logit, highest first (ties by id, so the order is deterministic), but
  // only as many as the filters can keep: the k best with top-k; otherwise those min-p's cut
  // leaves, and of them a head that grows until it holds top-p's mass. With no filter at all
  // the draw walks them in id order, unsorted.
  const auto higher = [](const Candidate& a, const Candidate& b) {
    return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
  };
  const double t = options_.temperature, max_logit = best->logit / t;
  const auto weight = [&](const Candidate& c) { return std::exp(c.logit / t - max_logit); };
  std::vector<double> probs;
  size_t keep = 0;
  if (options_.top_k > 0 && static_cast<size_t>(options_.top_k) < candidates_.size()) {
    std::partial_sort(candidates_.begin(), candidates_.begin() + options_.top_k, candidates_.end(),
                      higher);
    candidates_.resize(options_.top_k);
    double sum = 0;
    for (const Candidate& c : candidates_) sum += probs.emplace_back(weight(c));
    for (double& p : probs) p /= sum;
    keep = top_p_keep(probs, probs.size());
  } else {
    double sum = 0;
    for (const Candidate& c : candidates_) sum += weight(c);
    auto end = candidates_.end();
    if (options_.min_p > 0.0f) {  // a margin below the cut, which the exact check below applies
      const double floor = max_logit + std::log(options_.min_p) - 1e-3;
      end = std::partition(candidates_.begin(), end,
                           [&](const Candidate& c) { return c.logit / t >= floor; });
    }
    const size_t n = static_cast<size_t>(end - candidates_.begin());
    const bool ordered = options_.top_p < 1.0f || options_.min_p > 0.0f;
    for (size_t head = ordered ? std::min<size_t>(64, n) : n;; head = std::min(4 * head, n)) {
      if (ordered) std::partial_sort(candidates_.begin(), candidates_.begin() + head, end, higher);
      probs.clear();
      for (size_t i = 0; i < head; ++i) probs.push_back(weight(candidates_[i]) / sum);
      keep = top_p_keep(probs, head);
      if (keep < head || head == n) break;
    }
  }
  if (options_.min_p > 0.0f) {
    size_t i = 1;
    while (i < keep && probs[i] >= options_.min_p * probs[0]) ++i;
    keep = i;
  }
  double kept_sum = 0;
  for (size_t i = 0; i < keep; ++i) kept_sum += probs[i];
  const double r = keyed_uniform(options_.seed, index) * kept_sum;
  double cumulative = 0;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += probs[i];
    if (r < cumulative) return candidates_[i].id;
  }
  return candidates_[keep - 1].id;
}

SamplingOptions recommended_sampling(const SamplingHints& hints) {
  SamplingOptions s{.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f};
  s.temperature = hints.temperature.value_or(s.temperature);
  s.top_k = hints.top_k.value_or(s.top_k);
  s.top_p = hints.top_p.value_or(s.top_p);
  s.min_p = hints.min_p.value_or(s.min_p);
  s.repeat_penalty = hints.repeat_penalty.value_or(s.repeat_penalty);
  return s;
}

std::string describe(const SamplingOptions& o) {
  const std::string penalty =
      o.repeat_penalty != 1.0f ? fmt::format(", repeat penalty {:g}", o.repeat_penalty) : "";
  if (o.temperature <= 0.0f) return "greedy" + penalty;
  return fmt::format("temperature {:g}, top-k {}, top-p {:g}, min-p {:g}{}, seed {}", o.temperature,
                     o.top_k, o.top_p, o.min_p, penalty, o.seed);
}

}  // namespace kvscope
