// Response shapes as OpenAI's clients read them: envelopes, chunks, usage, timings, metrics.
#include "serve/api_response.h"

#include <gtest/gtest.h>

#include <cmath>

#include "serve/api_error.h"
#include "serve/prometheus.h"

namespace kvscope::serve {
namespace {

using nlohmann::json;

RequestOutput finished_output() {
  RequestOutput out;
  out.prompt_tokens = 10;
  out.cached_tokens = 4;
  out.text = "Paris.";
  out.stop = StopReason::kEndToken;
  out.arrival = Clock::time_point{};
  out.token_times = {out.arrival + std::chrono::milliseconds(30),
                     out.arrival + std::chrono::milliseconds(40),
                     out.arrival + std::chrono::milliseconds(50)};
  return out;
}

TEST(ApiResponse, ErrorEnvelopeHasNullsForWhatIsNotSaid) {
  const json body = ApiError(400, "bad", "invalid_request_error", "temperature").body();
  EXPECT_EQ(body["error"]["message"], "bad");
  EXPECT_EQ(body["error"]["param"], "temperature");
  EXPECT_TRUE(body["error"]["code"].is_null());
  EXPECT_EQ(status_error(413).body()["error"]["code"], "request_too_large");
  EXPECT_EQ(status_error(404).status(), 404);
}

TEST(ApiResponse, UsageCountsCachedTokensAndTimingsAsLlamaCpp) {
  const RequestOutput out = finished_output();
  const json usage = usage_json(out);
  EXPECT_EQ(usage["completion_tokens"], 3);
  EXPECT_EQ(usage["total_tokens"], 13);
  EXPECT_EQ(usage["prompt_tokens_details"]["cached_tokens"], 4);
  const json t = timings_json(out);
  EXPECT_EQ(t["prompt_n"], 6);
  EXPECT_EQ(t["cache_n"], 4);
  EXPECT_DOUBLE_EQ(t["prompt_ms"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(t["predicted_ms"].get<double>(), 20.0);
  EXPECT_EQ(t["predicted_n"], 3);
  EXPECT_DOUBLE_EQ(t["predicted_per_second"].get<double>(), 150.0);
}

TEST(ApiResponse, ChatResponseAndChunks) {
  const ReplyHeader h{Endpoint::kChat, "chatcmpl-1", 123, "smol"};
  const RequestOutput out = finished_output();
  const json r = response_json(h, out, nullptr);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["choices"][0]["message"]["content"], "Paris.");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(r["choices"][0]["logprobs"].is_null());
  const json role = chunk_json(h, "", nullptr, nullptr, true);
  EXPECT_EQ(role["object"], "chat.completion.chunk");
  EXPECT_EQ(role["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  EXPECT_TRUE(role["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(chunk_json(h, "Par", nullptr, nullptr)["choices"][0]["delta"]["content"], "Par");
  const json last = chunk_json(h, "", nullptr, &out);
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(last.contains("timings"));
  const json usage = usage_chunk_json(h, out);
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"]["prompt_tokens"], 10);
}

TEST(ApiResponse, CompletionChunksCarryText) {
  const ReplyHeader h{Endpoint::kCompletions, "cmpl-1", 1, "smol"};
  RequestOutput out = finished_output();
  out.stop = StopReason::kMaxTokens;
  EXPECT_EQ(response_json(h, out, nullptr)["choices"][0]["text"], "Paris.");
  EXPECT_EQ(response_json(h, out, nullptr)["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(chunk_json(h, "Pa", nullptr, nullptr)["choices"][0]["text"], "Pa");
}

TEST(ApiResponse, ServerSentEvents) {
  EXPECT_EQ(sse_event(json{{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_EQ(std::string(kSseDone), "data: [DONE]\n\n");
  // Text that is not UTF-8 (a cut character) is replaced, never a throw.
  EXPECT_NE(sse_event(json{{"t", "\xe2\x82"}}).find("\xef\xbf\xbd"), std::string::npos);
}

TEST(TokenLogprob, IsTheLogSoftmaxAndItsBest) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
  const TokenLogprob t = token_logprob(logits, 2, 2);
  double norm = 0;
  for (float l : logits) norm += std::exp(l);
  EXPECT_NEAR(t.logprob, 2.0 - std::log(norm), 1e-5);
  ASSERT_EQ(t.top.size(), 2u);
  EXPECT_EQ(t.top[0].first, 1);  // ties go to the lower id
  EXPECT_EQ(t.top[1].first, 3);
}

TEST(Prometheus, HistogramIsCumulative) {
  Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = h.render("x_seconds", "X");
  EXPECT_NE(text.find("# TYPE x_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_count 3\n"), std::string::npos);
  EXPECT_EQ(gauge("g", "G", 2), "# HELP g G\n# TYPE g gauge\ng 2\n");
}

}  // namespace
}  // namespace kvscope::serve
