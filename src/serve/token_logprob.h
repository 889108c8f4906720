#pragma once
// The log-probability of a sampled token and of the most likely alternatives, from the logits it
// was sampled from (the model's distribution, before temperature and filters, as vLLM reports).
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace kvscope::serve {

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // most likely first
};

// log_softmax of `logits` at `token`, and its `top` most likely entries.
TokenLogprob token_logprob(std::span<const float> logits, int32_t token, int top);

}  // namespace kvscope::serve
