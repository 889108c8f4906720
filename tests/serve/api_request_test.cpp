// Request bodies: every bad field is a 400 that names it; good ones reach the engine's terms.
#include "serve/api_request.h"

#include <gtest/gtest.h>

#include "serve/api_error.h"

namespace kvscope::serve {
namespace {

// The error a body gets, as (status, param).
std::pair<int, std::string> refusal(Endpoint endpoint, const std::string& body) {
  try {
    parse_request(endpoint, body);
  } catch (const ApiError& e) {
    const nlohmann::json error = e.body()["error"];
    return {e.status(), error["param"].is_null() ? "" : error["param"].get<std::string>()};
  }
  return {200, ""};
}

TEST(ApiRequest, ReadsACompletion) {
  const ApiRequest r = parse_request(
      Endpoint::kCompletions,
      R"({"model": "m", "prompt": "Hi", "max_tokens": 5, "temperature": 0, "top_p": 0.9,
          "top_k": 40, "min_p": 0.05, "seed": 7, "stop": ["\n", "."], "stream": true,
          "stream_options": {"include_usage": true}, "logprobs": 3})");
  EXPECT_EQ(r.prompt, "Hi");
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.05f);
  EXPECT_TRUE(r.seeded);
  EXPECT_EQ(r.sampling.seed, 7u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n", "."}));
  EXPECT_TRUE(r.stream && r.include_usage && r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
}

TEST(ApiRequest, TakesPromptsAsTextOrIdsAlone) {
  EXPECT_EQ(parse_request(Endpoint::kCompletions, R"({"prompt": [1, 2, 3]})").prompt_ids,
            (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(parse_request(Endpoint::kCompletions, R"({"prompt": ["one"]})").prompt, "one");
  EXPECT_EQ(parse_request(Endpoint::kCompletions, R"({"prompt": [[4, 5]]})").prompt_ids,
            (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(refusal(Endpoint::kCompletions, R"({"prompt": ["a", "b"]})"),
            std::make_pair(400, std::string("prompt")));
  EXPECT_EQ(refusal(Endpoint::kCompletions, R"({"prompt": [1, -2]})").second, "prompt");
  EXPECT_EQ(refusal(Endpoint::kCompletions, R"({"prompt": ""})").second, "prompt");
  EXPECT_EQ(refusal(Endpoint::kCompletions, R"({"max_tokens": 3})").second, "prompt");
}

TEST(ApiRequest, DefaultsAsOpenAi) {
  const ApiRequest r = parse_request(Endpoint::kCompletions, R"({"prompt": "x"})");
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_FALSE(r.seeded || r.stream || r.logprobs);
}

TEST(ApiRequest, TheNewerMaxTokensNameWins) {
  EXPECT_EQ(parse_request(Endpoint::kChat, R"({"messages": [{"role": "user", "content": "x"}],
                                              "max_tokens": 9, "max_completion_tokens": 4})")
                .max_tokens,
            4);
}

TEST(ApiRequest, ReadsChatMessages) {
  const ApiRequest r = parse_request(Endpoint::kChat, R"({"messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}]}],
      "logprobs": true, "top_logprobs": 2})");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hello");
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 2);
}

TEST(ApiRequest, NamesTheBadField) {
  const auto chat = [](const std::string& extra) {
    return refusal(Endpoint::kChat,
                   R"({"messages": [{"role": "user", "content": "x"}])" + extra + "}");
  };
  EXPECT_EQ(chat(R"(, "temperature": "hot")").second, "temperature");
  EXPECT_EQ(chat(R"(, "temperature": 3)").second, "temperature");
  EXPECT_EQ(chat(R"(, "top_p": 0)").second, "top_p");
  EXPECT_EQ(chat(R"(, "max_tokens": -1)").second, "max_tokens");
  EXPECT_EQ(chat(R"(, "max_tokens": 1.5)").second, "max_tokens");
  EXPECT_EQ(chat(R"(, "n": 2)").second, "n");
  EXPECT_EQ(chat(R"(, "stop": [1])").second, "stop");
  EXPECT_EQ(chat(R"(, "stream": "yes")").second, "stream");
  EXPECT_EQ(chat(R"(, "top_logprobs": 3)").second, "top_logprobs");
  EXPECT_EQ(chat(R"(, "logprobs": true, "top_logprobs": 21)").second, "top_logprobs");
  EXPECT_EQ(chat(R"(, "seed": 18446744073709551615)").second, "seed");
  EXPECT_EQ(refusal(Endpoint::kChat, R"({"messages": []})").second, "messages");
  EXPECT_EQ(refusal(Endpoint::kChat, R"({"messages": [{"role": "robot", "content": "x"}]})").second,
            "messages[0].role");
  EXPECT_EQ(refusal(Endpoint::kChat,
                    R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})")
                .second,
            "messages[0].content");
}

TEST(ApiRequest, RefusesWhatIsNotAJsonObject) {
  EXPECT_EQ(refusal(Endpoint::kCompletions, "{\"prompt\": "), std::make_pair(400, std::string()));
  EXPECT_EQ(refusal(Endpoint::kCompletions, "[1, 2]"), std::make_pair(400, std::string()));
  EXPECT_EQ(refusal(Endpoint::kCompletions, ""), std::make_pair(400, std::string()));
  EXPECT_EQ(refusal(Endpoint::kCompletions, "{\"prompt\": \"\xff\"}").first, 400);
}

}  // namespace
}  // namespace kvscope::serve
