#include "serve/api_response.h"

#include <chrono>

#include "tokenizer/utf8.h"

namespace kvscope::serve {
namespace {

using nlohmann::json;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

const char* object_name(Endpoint endpoint, bool chunk) {
  if (endpoint == Endpoint::kChat) return chunk ? "chat.completion.chunk" : "chat.completion";
  return "text_completion";
}

json head(const ReplyHeader& h, bool chunk) {
  return {{"id", h.id},
          {"object", object_name(h.endpoint, chunk)},
          {"created", h.created},
          {"model", h.model}};
}

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(c);
  return b;
}

// Token text as JSON can hold it: invalid UTF-8 (a piece of a character) is replaced.
std::string token_string(const Tokenizer& tokenizer, int32_t id) {
  return sanitize_utf8(tokenizer.token_bytes(id));
}

}  // namespace

const char* finish_reason(StopReason reason) {
  switch (reason) {
    case StopReason::kEndToken:
    case StopReason::kStopString:
      return "stop";
    case StopReason::kMaxTokens:
    case StopReason::kContextFull:
      return "length";
    case StopReason::kCancelled:
      return "abort";
  }
  return "stop";
}

json usage_json(const RequestOutput& out) {
  const int completion = static_cast<int>(out.token_times.size());
  return {{"prompt_tokens", out.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", out.prompt_tokens + completion},
          {"prompt_tokens_details", {{"cached_tokens", out.cached_tokens}}}};
}

json timings_json(const RequestOutput& out) {
  const int prompt_n = out.prompt_tokens - out.cached_tokens;
  const int predicted_n = static_cast<int>(out.token_times.size());
  // Prompt time runs from arrival to the first token (queueing included); generation from the
  // first token to the last.
  const double prompt_ms = predicted_n > 0 ? ms_between(out.arrival, out.token_times.front()) : 0;
  const double predicted_ms =
      predicted_n > 0 ? ms_between(out.token_times.front(), out.token_times.back()) : 0;
  const auto per = [](double ms, int n) { return n > 0 ? ms / n : 0.0; };
  const auto rate = [](double ms, int n) { return ms > 0 ? 1e3 * n / ms : 0.0; };
  return {{"cache_n", out.cached_tokens},
          {"prompt_n", prompt_n},
          {"prompt_ms", prompt_ms},
          {"prompt_per_token_ms", per(prompt_ms, prompt_n)},
          {"prompt_per_second", rate(prompt_ms, prompt_n)},
          {"predicted_n", predicted_n},
          {"predicted_ms", predicted_ms},
          {"predicted_per_token_ms", per(predicted_ms, predicted_n)},
          {"predicted_per_second", rate(predicted_ms, predicted_n)}};
}

json logprobs_json(Endpoint endpoint, const std::vector<TokenLogprob>& tokens,
                   const Tokenizer& tokenizer, size_t first_offset) {
  if (endpoint == Endpoint::kChat) {
    json content = json::array();
    for (const TokenLogprob& t : tokens) {
      json top = json::array();
      for (const auto& [id, lp] : t.top)
        top.push_back({{"token", token_string(tokenizer, id)},
                       {"logprob", lp},
                       {"bytes", bytes_of(tokenizer.token_bytes(id))}});
      content.push_back({{"token", token_string(tokenizer, t.token)},
                         {"logprob", t.logprob},
                         {"bytes", bytes_of(tokenizer.token_bytes(t.token))},
                         {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  json texts = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t offset = first_offset;
  for (const TokenLogprob& t : tokens) {
    texts.push_back(token_string(tokenizer, t.token));
    lps.push_back(t.logprob);
    json top = json::object();
    for (const auto& [id, lp] : t.top) top[token_string(tokenizer, id)] = lp;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += tokenizer.token_bytes(t.token).size();
  }
  return {
      {"tokens", texts}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json response_json(const ReplyHeader& header, const RequestOutput& out, const json& logprobs) {
  json choice = {{"index", 0}, {"logprobs", logprobs}, {"finish_reason", finish_reason(out.stop)}};
  if (header.endpoint == Endpoint::kChat)
    choice["message"] = {{"role", "assistant"}, {"content", out.text}};
  else
    choice["text"] = out.text;
  json r = head(header, false);
  r["choices"] = json::array({choice});
  r["usage"] = usage_json(out);
  r["timings"] = timings_json(out);
  return r;
}

json chunk_json(const ReplyHeader& header, const std::string& text, const json& logprobs,
                const RequestOutput* finished, bool role_only) {
  json choice = {{"index", 0},
                 {"logprobs", logprobs},
                 {"finish_reason", finished ? json(finish_reason(finished->stop)) : json()}};
  if (header.endpoint == Endpoint::kChat) {
    json delta = json::object();
    if (role_only) delta = {{"role", "assistant"}, {"content", ""}};
    if (!text.empty()) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  json c = head(header, true);
  c["choices"] = json::array({choice});
  if (finished) c["timings"] = timings_json(*finished);
  return c;
}

json usage_chunk_json(const ReplyHeader& header, const RequestOutput& out) {
  json c = head(header, true);
  c["choices"] = json::array();
  c["usage"] = usage_json(out);
  return c;
}

std::string sse_event(const json& data) {
  return "data: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

}  // namespace kvscope::serve
