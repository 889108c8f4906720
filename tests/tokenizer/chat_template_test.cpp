// Chat templates against transformers' apply_chat_template (scripts/make_tokenizer_goldens.py).
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer_fixtures.h"

namespace kvscope {
namespace {

using testing::load_tokenizer;
using testing::tiny_vocabulary;

const std::string kSmolSystem =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

std::string chat_template_of(const std::string& path) {
  return load_tokenizer(path).file->meta.get_string("tokenizer.chat_template");
}

TEST(ChatTemplate, RendersAsTransformers) {
  for (const auto& c : testing::tokenizer_goldens()["chat"]) {
    std::vector<ChatMessage> messages;
    for (const auto& m : c["messages"]) messages.push_back({m["role"], m["content"]});
    SCOPED_TRACE(c["messages"].dump());
    EXPECT_EQ(apply_chat_template(ChatStyle::kChatMl, messages, true, kSmolSystem), c["chatml"]);
    EXPECT_EQ(apply_chat_template(ChatStyle::kChatMl, messages, false, kSmolSystem),
              c["chatml_no_prompt"]);
    EXPECT_EQ(apply_chat_template(ChatStyle::kLlama2, messages, false), c["llama2"]);
    EXPECT_EQ(apply_chat_template(ChatStyle::kLlama3, messages, true), c["llama3"]);
    EXPECT_EQ(apply_chat_template(ChatStyle::kLlama3, messages, false), c["llama3_no_prompt"]);
  }
}

// SmolLM2's template writes its system turn inside the loop over the messages.
TEST(ChatTemplate, AnEmptyConversationHasNoDefaultSystemTurn) {
  EXPECT_EQ(apply_chat_template(ChatStyle::kChatMl, {}, true, kSmolSystem),
            "<|im_start|>assistant\n");
}

// The tiny vocabularies carry SmolLM2's template (gpt_2), Llama 3's (llama_bpe) and Llama 2's
// (spm).
TEST(ChatTemplate, DetectsTheStyleAndTheDefaultSystemPrompt) {
  const std::string chatml = chat_template_of(tiny_vocabulary("tiny_bpe_gpt_2"));
  EXPECT_EQ(detect_chat_style(chatml), ChatStyle::kChatMl);
  EXPECT_EQ(default_system_prompt(chatml), kSmolSystem);
  const std::string llama3 = chat_template_of(tiny_vocabulary("tiny_bpe_llama_bpe"));
  EXPECT_EQ(detect_chat_style(llama3), ChatStyle::kLlama3);
  EXPECT_EQ(default_system_prompt(llama3), "");
  const std::string llama2 = chat_template_of(tiny_vocabulary("tiny_spm"));
  EXPECT_EQ(detect_chat_style(llama2), ChatStyle::kLlama2);
  EXPECT_EQ(default_system_prompt(llama2), "");
  if (testing::default_model().empty()) return;
  const std::string smol = chat_template_of(testing::default_model());
  EXPECT_EQ(detect_chat_style(smol), ChatStyle::kChatMl);
  EXPECT_EQ(default_system_prompt(smol), kSmolSystem);
}

TEST(ChatTemplate, UnknownTemplatesAreErrors) {
  EXPECT_THROW(detect_chat_style(""), Error);
  EXPECT_THROW(detect_chat_style("{{ messages }}"), Error);
  EXPECT_THROW(apply_chat_template(ChatStyle::kLlama2, {{"user", "a"}, {"system", "b"}}, false),
               Error);
}

}  // namespace
}  // namespace kvscope
