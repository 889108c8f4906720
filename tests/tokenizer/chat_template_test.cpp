// Chat templates against transformers' apply_chat_template: llama.cpp's models/templates/, the
// default model's own and the built-in fallbacks, on several conversations
// (scripts/make_chat_template_goldens.py).
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/error.h"
#include "tokenizer_fixtures.h"

namespace kvscope {
namespace {

using testing::fixture;
using testing::load_tokenizer;
using testing::tiny_vocabulary;

const nlohmann::json& goldens() {
  static const nlohmann::json g = [] {
    std::ifstream in(fixture("tokenizer/chat_templates/goldens.json"));
    return nlohmann::json::parse(in);
  }();
  return g;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ChatTemplate golden_template(const std::string& name) {
  const nlohmann::json& t = goldens()["templates"][name];
  ChatTemplate tmpl(read_file(fixture("tokenizer/chat_templates/" + name + ".jinja")),
                    t["bos_token"], t["eos_token"]);
  tmpl.fix_time(goldens()["fixed_time"].get<std::time_t>());
  return tmpl;
}

std::vector<ChatMessage> conversation(int i) {
  std::vector<ChatMessage> messages;
  for (const auto& m : goldens()["conversations"][i]) messages.push_back({m["role"], m["content"]});
  return messages;
}

TEST(ChatTemplate, RendersEveryTemplateAsTransformers) {
  const auto extra = goldens()["extra"].get<std::map<std::string, std::string>>();
  ASSERT_GE(goldens()["templates"].size(), 18u);
  for (const auto& [name, t] : goldens()["templates"].items()) {
    const ChatTemplate tmpl = golden_template(name);
    for (const auto& c : t["renders"]) {
      SCOPED_TRACE(name + ", conversation " + c["conversation"].dump() +
                   ", add_generation_prompt " + c["add_generation_prompt"].dump());
      const auto messages = conversation(c["conversation"]);
      if (c.contains("error")) {
        EXPECT_THROW(tmpl.render(messages, c["add_generation_prompt"], extra), Error);
        continue;
      }
      EXPECT_EQ(tmpl.render(messages, c["add_generation_prompt"], extra), c["text"]);
    }
  }
}

// The fallbacks are the templates the goldens were rendered from.
TEST(ChatTemplate, BuiltinTemplatesAreTheGoldenOnes) {
  EXPECT_EQ(builtin_template_source(BuiltinTemplate::kChatMl),
            read_file(fixture("tokenizer/chat_templates/builtin-chatml.jinja")));
  EXPECT_EQ(builtin_template_source(BuiltinTemplate::kLlama2),
            read_file(fixture("tokenizer/chat_templates/builtin-llama2.jinja")));
  EXPECT_EQ(builtin_template_source(BuiltinTemplate::kLlama3),
            read_file(fixture("tokenizer/chat_templates/builtin-llama3.jinja")));
}

// The default model's GGUF carries the template the goldens have under its name.
TEST(ChatTemplate, TheDefaultModelUsesItsOwnTemplate) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  const auto loaded = load_tokenizer(testing::default_model());
  const ChatTemplate tmpl = ChatTemplate::for_model(loaded.file->meta, *loaded.tokenizer);
  EXPECT_EQ(tmpl.source(),
            read_file(fixture("tokenizer/chat_templates/SmolLM2-135M-Instruct.jinja")));
  EXPECT_EQ(tmpl.end_of_turn(*loaded.tokenizer), std::vector<std::string>{"<|im_end|>"});
}

// What follows an answer: the template's end-of-turn token.
TEST(ChatTemplate, FindsTheEndOfTurnToken) {
  const auto loaded = load_tokenizer(tiny_vocabulary("tiny_bpe_gpt_2"));
  EXPECT_EQ(golden_template("builtin-chatml").end_of_turn(*loaded.tokenizer),
            std::vector<std::string>{"<|im_end|>"});
  // The tiny vocabulary has no <|eot_id|>: nothing special follows the answer.
  EXPECT_TRUE(golden_template("builtin-llama3").end_of_turn(*loaded.tokenizer).empty());
}

// A file without a template gets the built-in one its vocabulary fits.
TEST(ChatTemplate, FallsBackByVocabulary) {
  Metadata meta;
  for (const char* name : {"tiny_bpe_gpt_2", "tiny_bpe_llama_bpe", "tiny_spm"}) {
    const auto loaded = load_tokenizer(tiny_vocabulary(name));
    const ChatTemplate own = ChatTemplate::for_model(loaded.file->meta, *loaded.tokenizer);
    EXPECT_EQ(own.source(), loaded.file->meta.get_string("tokenizer.chat_template")) << name;
    const ChatTemplate fallback = ChatTemplate::for_model(meta, *loaded.tokenizer);
    const BuiltinTemplate expected =
        std::string(name) == "tiny_spm" ? BuiltinTemplate::kLlama2 : BuiltinTemplate::kChatMl;
    EXPECT_EQ(fallback.source(), builtin_template_source(expected)) << name;
  }
}

TEST(ChatTemplate, BadTemplatesAreErrors) {
  EXPECT_THROW(ChatTemplate("{% for m in messages %}", "", ""), Error);
  EXPECT_THROW(ChatTemplate("{{ raise_exception('no') }}", "", "").render({}, true), Error);
}

}  // namespace
}  // namespace kvscope
