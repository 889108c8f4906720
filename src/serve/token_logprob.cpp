#include "serve/token_logprob.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kvscope::serve {

TokenLogprob token_logprob(std::span<const float> logits, int32_t token, int top) {
  const float peak = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - peak));
  const float log_norm = peak + static_cast<float>(std::log(sum));
  TokenLogprob out{token, logits[token] - log_norm, {}};
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  const size_t n = std::min(static_cast<size_t>(std::max(top, 0)), ids.size());
  // Ties go to the lower id, as greedy sampling breaks them.
  std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  for (size_t i = 0; i < n; ++i) out.top.emplace_back(ids[i], logits[ids[i]] - log_norm);
  return out;
}

}  // namespace kvscope::serve
