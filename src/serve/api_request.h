#pragma once
// The body of POST /v1/completions and /v1/chat/completions, checked field by field: a bad
// field is an ApiError 400 that names it. Unknown fields are ignored, as vLLM and llama.cpp do.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "tokenizer/chat_template.h"

namespace kvscope::serve {

enum class Endpoint { kCompletions, kChat };

struct ApiRequest {
  Endpoint endpoint = Endpoint::kCompletions;
  std::string model;
  std::string prompt;                 // completions: the text, or
  std::vector<int32_t> prompt_ids;    // the token ids
  std::vector<ChatMessage> messages;  // chat
  std::optional<int> max_tokens;      // absent: the endpoint's default
  SamplingOptions sampling;
  bool seeded = false;  // a seed was given (otherwise the server draws one)
  std::vector<std::string> stop;
  bool ignore_eos = false;  // vLLM's extension: generate past the end token
  bool stream = false, include_usage = false;
  bool logprobs = false;
  int top_logprobs = 0;  // alternatives per token (completions' `logprobs: N`)
};

inline constexpr int kMaxTopLogprobs = 20;

// ApiError 400 for malformed JSON or a bad field.
ApiRequest parse_request(Endpoint endpoint, const std::string& body);

}  // namespace kvscope::serve
