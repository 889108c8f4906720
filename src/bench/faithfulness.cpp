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

std::vector<float> score(const Model& model, const std::vector<int32_t>& chunk, Precision precision,
                         MatrixKinds split_kinds, KvType kv_type, int threads) {
  SessionOptions o;
  o.precision = precision;
  o.split_kinds = split_kinds;
  o.kv_type = kv_type;
  o.threads = threads;
  o.n_ctx = static_cast<int>(chunk.size());
  Session session(model, o);
  return session.score(chunk);
}

}  // namespace

FaithfulnessResult measure_faithfulness(const Model& model, const std::vector<int32_t>& tokens,
                                        const FaithfulnessOptions& options,
                                        const std::function<void(int, int)>& on_progress) {
  const int n_ctx = options.n_ctx;
  const int usable = std::min<int>(static_cast<int>(tokens.size()), options.max_tokens);
  const int chunks = usable / n_ctx;
  if (n_ctx < 4 || chunks < 1)
    fail(
        "the text has {} tokens, too few for one chunk of {} (use a longer text or a smaller "
        "--ctx)",
        usable, n_ctx);
  const int vocab = model.config().vocab_size;
  std::vector<double> kls;
  int same = 0;
  double nll_exact = 0, nll_fast = 0;
  for (int c = 0; c < chunks; ++c) {
    const std::vector<int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
    const std::vector<float> exact =
        score(model, chunk, Precision::kExact, 0, KvType::kF32, options.threads);
    const std::vector<float> fast = score(model, chunk, options.precision, options.split_kinds,
                                          options.kv_type, options.threads);
    // The first half only gives the second half its context, as in llama-perplexity.
    for (int p = n_ctx / 2; p + 1 < n_ctx; ++p) {
      const float* e = &exact[static_cast<size_t>(p) * vocab];
      const float* f = &fast[static_cast<size_t>(p) * vocab];
      const std::vector<double> le = log_probs(e, vocab), lf = log_probs(f, vocab);
      double kl = 0;
      for (int i = 0; i < vocab; ++i) kl += std::exp(le[i]) * (le[i] - lf[i]);
      kls.push_back(std::max(kl, 0.0));
      same += std::max_element(e, e + vocab) - e == std::max_element(f, f + vocab) - f;
      nll_exact -= le[chunk[p + 1]];
      nll_fast -= lf[chunk[p + 1]];
    }
    if (on_progress) on_progress(c + 1, chunks);
  }
  FaithfulnessResult r;
  r.positions = static_cast<int>(kls.size());
  r.same_top1 = static_cast<double>(same) / r.positions;
  r.kl = summarize(kls);
  r.perplexity_exact = std::exp(nll_exact / r.positions);
  r.perplexity_fast = std::exp(nll_fast / r.positions);
  return r;
}

}  // namespace kvscope
