#include "serve/api_request.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "serve/api_error.h"

namespace kvscope::serve {
namespace {

using nlohmann::json;

// The field `key` of `body` when present and not null.
const json* field(const json& body, const char* key) {
  const auto found = body.find(key);
  return found == body.end() || found->is_null() ? nullptr : &*found;
}

double number(const json& body, const char* key, double lo, double hi, double fallback) {
  const json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_number()) bad_field(key, fmt::format("'{}' must be a number", key));
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi))
    bad_field(key, fmt::format("'{}' must be between {} and {}, not {}", key, lo, hi, x));
  return x;
}

int64_t integer(const json& body, const char* key, int64_t lo, int64_t hi, int64_t fallback) {
  const json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_number_integer()) bad_field(key, fmt::format("'{}' must be an integer", key));
  const bool huge = v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX;
  const int64_t x = v->get<int64_t>();
  if (huge || x < lo || x > hi)
    bad_field(key, fmt::format("'{}' must be between {} and {}, not {}", key, lo, hi, v->dump()));
  return x;
}

bool boolean(const json& body, const char* key) {
  const json* v = field(body, key);
  if (!v) return false;
  if (!v->is_boolean()) bad_field(key, fmt::format("'{}' must be true or false", key));
  return v->get<bool>();
}

std::vector<int32_t> token_ids(const json& list) {
  std::vector<int32_t> ids;
  for (const json& id : list) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      bad_field("prompt", "a prompt of token ids must hold non-negative integers");
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  return ids;
}

// A string, a list of token ids, or a list of one of either (one prompt per request).
void parse_prompt(const json& body, ApiRequest& r) {
  const json* p = field(body, "prompt");
  if (!p) bad_field("prompt", "'prompt' is required");
  json one = *p;
  if (one.is_array() && one.size() == 1 && (one[0].is_string() || one[0].is_array()))
    one = json(one[0]);
  if (one.is_array() && one.size() > 1 && (one[0].is_string() || one[0].is_array()))
    bad_field("prompt", "one prompt per request (a list of several is not supported)");
  if (one.is_string()) {
    r.prompt = one.get<std::string>();
    if (r.prompt.empty()) bad_field("prompt", "'prompt' is empty");
  } else if (one.is_array()) {
    r.prompt_ids = token_ids(one);
    if (r.prompt_ids.empty()) bad_field("prompt", "'prompt' is empty");
  } else {
    bad_field("prompt", "'prompt' must be a string or a list of token ids");
  }
}

// Content is a string or a list of text parts.
std::string message_content(const json& content, size_t i) {
  const std::string param = fmt::format("messages[{}].content", i);
  if (content.is_null()) return "";
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    bad_field(param, fmt::format("'{}' must be a string or a list of parts", param));
  std::string text;
  for (const json& part : content) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string())
      bad_field(param, fmt::format("'{}' may hold only parts of type \"text\"", param));
    text += part["text"].get<std::string>();
  }
  return text;
}

void parse_messages(const json& body, ApiRequest& r) {
  const json* m = field(body, "messages");
  if (!m || !m->is_array() || m->empty())
    bad_field("messages", "'messages' must be a non-empty list");
  for (size_t i = 0; i < m->size(); ++i) {
    const json& msg = (*m)[i];
    const std::string param = fmt::format("messages[{}]", i);
    if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string())
      bad_field(param, fmt::format("'{}' must be an object with a 'role'", param));
    std::string role = msg["role"].get<std::string>();
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant")
      bad_field(param + ".role",
                fmt::format("'{}.role' must be system, developer, user or assistant, not '{}'",
                            param, role));
    r.messages.push_back({role, message_content(msg.value("content", json()), i)});
  }
}

std::vector<std::string> parse_stop(const json& body) {
  const json* s = field(body, "stop");
  if (!s) return {};
  if (s->is_string()) return {s->get<std::string>()};
  if (!s->is_array()) bad_field("stop", "'stop' must be a string or a list of strings");
  std::vector<std::string> stops;
  for (const json& one : *s) {
    if (!one.is_string() || one.get<std::string>().empty())
      bad_field("stop", "'stop' must hold non-empty strings");
    stops.push_back(one.get<std::string>());
  }
  return stops;
}

void parse_logprobs(const json& body, ApiRequest& r) {
  if (r.endpoint == Endpoint::kChat) {
    r.logprobs = boolean(body, "logprobs");
    r.top_logprobs = static_cast<int>(integer(body, "top_logprobs", 0, kMaxTopLogprobs, 0));
    if (r.top_logprobs > 0 && !r.logprobs)
      bad_field("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    return;
  }
  // Completions: `logprobs: N` asks for the chosen token's and N alternatives.
  const json* v = field(body, "logprobs");
  if (!v) return;
  if (v->is_boolean()) {
    r.logprobs = v->get<bool>();
    return;
  }
  r.top_logprobs = static_cast<int>(integer(body, "logprobs", 0, kMaxTopLogprobs, 0));
  r.logprobs = true;
}

void parse_sampling(const json& body, ApiRequest& r) {
  SamplingOptions& s = r.sampling;
  s.temperature = static_cast<float>(number(body, "temperature", 0, 2, 1));
  s.top_p = static_cast<float>(number(body, "top_p", 0, 1, 1));
  if (s.top_p <= 0) bad_field("top_p", "'top_p' must be above 0");
  const int64_t top_k = integer(body, "top_k", -1, INT32_MAX, 0);
  s.top_k = top_k < 0 ? 0 : static_cast<int>(top_k);  // -1 is vLLM's "off"
  s.min_p = static_cast<float>(number(body, "min_p", 0, 1, 0));
  s.repeat_penalty = static_cast<float>(number(body, "repetition_penalty", 0.01, 10, 1));
  r.seeded = field(body, "seed") != nullptr;
  s.seed = static_cast<uint64_t>(integer(body, "seed", INT64_MIN, INT64_MAX, 0));
}

}  // namespace

ApiRequest parse_request(Endpoint endpoint, const std::string& text) {
  json body;
  try {
    body = json::parse(text);
  } catch (const json::parse_error& e) {
    throw ApiError(400, fmt::format("the body is not valid JSON: {}", e.what()));
  }
  if (!body.is_object()) throw ApiError(400, "the body must be a JSON object");
  ApiRequest r;
  r.endpoint = endpoint;
  if (const json* m = field(body, "model")) {
    if (!m->is_string()) bad_field("model", "'model' must be a string");
    r.model = m->get<std::string>();
  }
  if (endpoint == Endpoint::kChat)
    parse_messages(body, r);
  else
    parse_prompt(body, r);
  if (const json* n = field(body, "n"); n && *n != 1) bad_field("n", "only 'n': 1 is supported");
  for (const char* key : {"max_tokens", "max_completion_tokens"})  // the newer name wins
    if (field(body, key)) r.max_tokens = static_cast<int>(integer(body, key, 0, INT32_MAX, 0));
  parse_sampling(body, r);
  r.stop = parse_stop(body);
  r.ignore_eos = boolean(body, "ignore_eos");
  r.stream = boolean(body, "stream");
  if (const json* o = field(body, "stream_options")) {
    if (!o->is_object()) bad_field("stream_options", "'stream_options' must be an object");
    r.include_usage = boolean(*o, "include_usage");
  }
  parse_logprobs(body, r);
  return r;
}

}  // namespace kvscope::serve
