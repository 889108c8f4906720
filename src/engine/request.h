#pragma once
// What a caller asks of the engine, and what it gets back, token by token and at the end.
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampler.h"

namespace kvscope {

using Clock = std::chrono::steady_clock;
using RequestId = int64_t;

enum class StopReason { kEndToken, kStopString, kMaxTokens, kContextFull, kCancelled };
std::string_view stop_reason_name(StopReason reason);

// One generated token as it reaches the caller.
struct TokenEvent {
  RequestId id = 0;
  int index = 0;  // of the token among the request's generated ones (0 is the first)
  int32_t token = 0;
  std::string text;        // text that became showable with it (may be empty, or span tokens)
  Clock::time_point time;  // when it was sampled
  bool last = false;       // the request ends with it (an end token itself is not in the output)
};

struct RequestOutput {
  RequestId id = 0;
  int prompt_tokens = 0;  // the whole prompt
  int cached_tokens = 0;  // of which reused from the cache (a prefix hit or a continued request)
  std::vector<int32_t> output;  // generated ids (an end token is not included)
  std::string text;             // their text, without a matched stop string
  StopReason stop = StopReason::kMaxTokens;
  bool finished = false;
  int preemptions = 0;
  Clock::time_point arrival;                   // when it was added
  std::vector<Clock::time_point> token_times;  // when each generated token was sampled
};

struct Request {
  std::vector<int32_t> prompt;
  // 0: only prefill the prompt; its last position's logits are then computed only for on_logits
  int max_new_tokens = 128;
  SamplingOptions sampling;
  std::vector<std::string> stop_strings;
  bool stop_at_end_token = true;
  // Keep the request's KV cache once it ends, so that a later request can continue it.
  bool keep_kv = false;
  // A finished request kept with keep_kv whose tokens begin this prompt: its cache is taken over
  // rather than recomputed (0: none).
  RequestId continue_from = 0;
  std::function<void(const TokenEvent&)> on_token;
  // Sees the logits each token is sampled from (for verification), or a prompt-only request's
  // last logits.
  std::function<void(std::span<const float>)> on_logits;
  std::function<void(const RequestOutput&)> on_finish;
};

}  // namespace kvscope
