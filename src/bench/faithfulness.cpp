#include "bench/faithfulness.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "generate/session.h"

namespace kvscope {
namespace {

// log-softmax of one row of logits, in double.
std::vector<double> log_probs(const float* logits, int vocab) {
  const float max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  const double log_sum = std::log(sum) + max;
  std::vector<double> out(static_cast<size_t>(vocab));
  for (int i = 0; i < vocab; ++i) out[i] = logits[i] - log_sum;
  return out;
}

std::vector<float> score(const Model& model, const std::vector<int32_t>& chunk,
                         const FaithfulnessConfig& config, int threads) {
  SessionOptions o;
  o.precision = config.precision;
  o.split_kinds = config.split_kinds;
  o.kv_type = config.kv_type;
  o.threads = threads;
  o.n_ctx = static_cast<int>(chunk.size());
  Session session(model, o);
  return session.score(chunk);
}

// What one configuration has gathered over the chunks so far.
struct Tally {
  std::vector<double> kls;
  int same = 0;
  double nll = 0;
};

}  // namespace

std::vector<FaithfulnessResult> measure_faithfulness(
    const Model& model, const std::vector<int32_t>& tokens, const FaithfulnessOptions& options,
    std::span<const FaithfulnessConfig> configs, const std::function<void(int, int)>& on_progress) {
  const int n_ctx = options.n_ctx;
  const int usable = std::min<int>(static_cast<int>(tokens.size()), options.max_tokens);
  const int chunks = usable / n_ctx;
  if (n_ctx < 4 || chunks < 1)
    fail(
        "the text has {} tokens, too few for one chunk of {} (use a longer text or a smaller "
        "--ctx)",
        usable, n_ctx);
  const int vocab = model.config().vocab_size;
  std::vector<Tally> tallies(configs.size());
  double nll_exact = 0;
  for (int c = 0; c < chunks; ++c) {
    const std::vector<int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
    const std::vector<float> exact =
        score(model, chunk, {Precision::kExact, 0, KvType::kF32}, options.threads);
    // The first half only gives the second half its context, as in llama-perplexity.
    const int first = n_ctx / 2;
    for (int p = first; p + 1 < n_ctx; ++p)
      nll_exact -= log_probs(&exact[static_cast<size_t>(p) * vocab], vocab)[chunk[p + 1]];
    for (size_t i = 0; i < configs.size(); ++i) {
      const std::vector<float> compared = score(model, chunk, configs[i], options.threads);
      Tally& t = tallies[i];
      for (int p = first; p + 1 < n_ctx; ++p) {
        const float* e = &exact[static_cast<size_t>(p) * vocab];
        const float* f = &compared[static_cast<size_t>(p) * vocab];
        // Recomputed per configuration: a chunk's exact rows in double would take ~100 MB.
        const std::vector<double> le = log_probs(e, vocab), lf = log_probs(f, vocab);
        double kl = 0;
        for (int j = 0; j < vocab; ++j) kl += std::exp(le[j]) * (le[j] - lf[j]);
        t.kls.push_back(std::max(kl, 0.0));
        t.same += std::max_element(e, e + vocab) - e == std::max_element(f, f + vocab) - f;
        t.nll -= lf[chunk[p + 1]];
      }
    }
    if (on_progress) on_progress(c + 1, chunks);
  }
  std::vector<FaithfulnessResult> results;
  for (const Tally& t : tallies) {
    FaithfulnessResult r;
    r.positions = static_cast<int>(t.kls.size());
    r.same_top1 = static_cast<double>(t.same) / r.positions;
    r.kl = summarize(t.kls);
    r.perplexity_exact = std::exp(nll_exact / r.positions);
    r.perplexity_fast = std::exp(t.nll / r.positions);
    results.push_back(r);
  }
  return results;
}

}  // namespace kvscope
