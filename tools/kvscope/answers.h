#pragma once
// The demo's questions answered one by one in the chat template, each with its speed: what
// `kvscope demo` shows and what `kvscope train` shows of each checkpoint.
#include <string>
#include <vector>

#include "generate/session.h"

namespace kvscope::cli {

const std::vector<std::string>& demo_questions();

struct Answer {
  std::vector<int32_t> ids;
  int tokens = 0;
  double seconds = 0;
  double tokens_per_s() const { return seconds > 0 ? tokens / seconds : 0.0; }
};

// Answers one question from an empty conversation with the given cache strategy and sampling.
Answer answer(const Model& model, const std::string& question, CacheStrategy cache, int max_new,
              int threads, const SamplingOptions& sampling, const TokenCallback& on_token = {});
// "⚡ 42.3 tok/s | 📊 12 tokens | ⏱️  0.284s"
std::string speed_line(const Answer& a);

}  // namespace kvscope::cli
