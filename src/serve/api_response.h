#pragma once
// The JSON the server answers with, in OpenAI's shapes: whole responses, the chunks of a stream
// (sent as server-sent events), usage with cached tokens and llama.cpp's `timings`.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/request.h"
#include "serve/api_request.h"
#include "serve/token_logprob.h"
#include "tokenizer/tokenizer.h"

namespace kvscope::serve {

// What every object of one reply shares.
struct ReplyHeader {
  Endpoint endpoint = Endpoint::kCompletions;
  std::string id;  // "cmpl-…" or "chatcmpl-…"
  int64_t created = 0;
  std::string model;
};

// "stop" for an end token or stop string, "length" for max_tokens or a full context.
const char* finish_reason(StopReason reason);
nlohmann::json usage_json(const RequestOutput& out);
nlohmann::json timings_json(const RequestOutput& out);
// The `logprobs` of a choice: completions' {tokens, token_logprobs, top_logprobs, text_offset}
// or chat's {content: [{token, logprob, bytes, top_logprobs}]}; `first_offset` is the text
// offset of the first token (for the chunks of a stream).
nlohmann::json logprobs_json(Endpoint endpoint, const std::vector<TokenLogprob>& tokens,
                             const Tokenizer& tokenizer, size_t first_offset = 0);

// The whole response of a request that was not streamed.
nlohmann::json response_json(const ReplyHeader& header, const RequestOutput& out,
                             const nlohmann::json& logprobs);
// One chunk of a stream: text (a delta), its logprobs (or null) and, in the last, the finish
// reason and timings. Chat's first chunk, role_only, carries the role and no text.
nlohmann::json chunk_json(const ReplyHeader& header, const std::string& text,
                          const nlohmann::json& logprobs, const RequestOutput* finished,
                          bool role_only = false);
// The chunk with no choices and the usage, sent before [DONE] when include_usage is asked.
nlohmann::json usage_chunk_json(const ReplyHeader& header, const RequestOutput& out);

// One server-sent event: "data: <json>\n\n".
std::string sse_event(const nlohmann::json& data);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace kvscope::serve
