// The tokenizers against Hugging Face's (scripts/make_tokenizer_goldens.py) on a corpus of many
// scripts, emoji, code and whitespace, and their edge cases.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/model_file.h"
#include "test_paths.h"
#include "tokenizer/chat_template.h"

namespace kvscope {
namespace {

const nlohmann::json& goldens() {
  static const nlohmann::json g = [] {
    std::ifstream in(testing::fixture("tokenizer/goldens.json"));
    return nlohmann::json::parse(in);
  }();
  return g;
}

struct Loaded {
  std::unique_ptr<ModelFile> file;
  std::unique_ptr<Tokenizer> tokenizer;
};

Loaded load(const std::string& path) {
  Loaded l;
  l.file = open_model_file(path);
  l.tokenizer = Tokenizer::from_metadata(l.file->meta);
  return l;
}

// Every corpus line gives the reference's ids and decodes back to itself.
void expect_matches_reference(const Tokenizer& tok, const std::string& reference) {
  const auto& texts = goldens()["corpus"];
  const auto& want = goldens()["references"][reference];
  int matched = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string text = texts[i];
    const std::vector<int32_t> ids = tok.encode(text, false, false);
    EXPECT_EQ(ids, want[i].get<std::vector<int32_t>>()) << reference << " line " << i << ": " << text;
    matched += ids == want[i].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.decode(ids), text) << reference << " line " << i;
  }
  ::testing::Test::RecordProperty(reference + "_matched", matched);
}

TEST(Tokenizer, DefaultModelMatchesTransformers) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  const Loaded l = load(testing::default_model());
  EXPECT_EQ(l.tokenizer->kind(), "byte-level BPE (smollm)");
  expect_matches_reference(*l.tokenizer, "default_model");
}

TEST(Tokenizer, DefaultModelMatchesLlamaCpp) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  expect_matches_reference(*load(testing::default_model()).tokenizer, "default_model_llama_cpp");
}

TEST(Tokenizer, TinyFixturesMatchHuggingFaceTokenizers) {
  for (const char* folder : {"tiny-llama-hf", "tiny-gpt2-hf", "tiny-llama-spm-hf"}) {
    const Loaded l = load(testing::fixture(std::string("models/") + folder));
    expect_matches_reference(*l.tokenizer, folder);
  }
}

TEST(Tokenizer, GgufAndTokenizerJsonGiveTheSameIds) {
  const Loaded gguf = load(testing::fixture("models/tiny-llama-spm-bf16.gguf"));
  const Loaded hf = load(testing::fixture("models/tiny-llama-spm-hf"));
  for (const auto& text : goldens()["corpus"])
    EXPECT_EQ(gguf.tokenizer->encode(text.get<std::string>(), true, true),
              hf.tokenizer->encode(text.get<std::string>(), true, true));
}

TEST(Tokenizer, SpecialTokensParseOnlyWhenAsked) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  const Loaded l = load(testing::default_model());
  const std::string text = "<|im_start|>user\nHi<|im_end|>";
  const std::vector<int32_t> parsed = l.tokenizer->encode(text, true, false);
  EXPECT_EQ(parsed.front(), 1);  // <|im_start|>
  EXPECT_EQ(parsed.back(), 2);   // <|im_end|>
  const std::vector<int32_t> plain = l.tokenizer->encode(text, false, false);
  EXPECT_GT(plain.size(), parsed.size());
  for (int32_t id : plain) EXPECT_FALSE(l.tokenizer->is_special(id));
  EXPECT_EQ(l.tokenizer->decode(parsed), text);
  const auto ends = l.tokenizer->end_ids();
  EXPECT_NE(std::find(ends.begin(), ends.end(), 2), ends.end());
}

TEST(Tokenizer, AddsBosOnlyWhenTheModelWantsIt) {
  const Loaded spm = load(testing::fixture("models/tiny-llama-spm-hf"));  // add_bos_token: true
  EXPECT_EQ(spm.tokenizer->encode("hi", false, true).front(), spm.tokenizer->bos_id());
  EXPECT_NE(spm.tokenizer->encode("hi", false, false).front(), spm.tokenizer->bos_id());
}

TEST(Tokenizer, InvalidUtf8IsAnError) {
  const Loaded l = load(testing::fixture("models/tiny-gpt2-hf"));
  for (const std::string bad : {"abc\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "ok\xf5\x80\x80\x80"})
    EXPECT_THROW(l.tokenizer->encode(bad, false, false), Error) << bad;
}

TEST(Tokenizer, StreamingNeverSplitsACharacter) {
  const Loaded l = load(testing::fixture("models/tiny-gpt2-hf"));
  const std::string text = "Emoji: 👨‍👩‍👧‍👦 and 中文 and é";
  const std::vector<int32_t> ids = l.tokenizer->encode(text, false, false);
  StreamDecoder decoder(*l.tokenizer);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_EQ(piece, std::string(piece.c_str(), piece.size()));
    // Every piece on its own is valid UTF-8.
    EXPECT_NO_THROW(l.tokenizer->encode(piece, false, false)) << "token " << id;
    streamed += piece;
  }
  streamed += decoder.flush();
  EXPECT_EQ(streamed, text);
  // The small vocabulary splits the emoji into byte tokens, so pieces were held back.
  EXPECT_GT(ids.size(), 20u);
}

TEST(Tokenizer, UnsupportedModelIsAnError) {
  Metadata meta("test.gguf");
  meta.set("tokenizer.ggml.model", MetaValue::of_string("wordpiece"));
  EXPECT_THROW(Tokenizer::from_metadata(meta), Error);
  meta.set("tokenizer.ggml.model", MetaValue::of_string("gpt2"));
  meta.set("tokenizer.ggml.pre", MetaValue::of_string("unknown-pre"));
  meta.set("tokenizer.ggml.tokens", MetaValue::of_array(MetaType::kString, {MetaValue::of_string("a")}));
  meta.set("tokenizer.ggml.merges", MetaValue::of_array(MetaType::kString, {}));
  EXPECT_THROW(Tokenizer::from_metadata(meta), Error);
}

TEST(ChatTemplate, RendersAsTheReferenceTemplates) {
  const std::string smol_system = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
  for (const auto& c : goldens()["chat"]) {
    std::vector<ChatMessage> messages;
    for (const auto& m : c["messages"]) messages.push_back({m["role"], m["content"]});
    EXPECT_EQ(apply_chat_template(ChatStyle::kChatMl, messages, true, smol_system), c["chatml"].get<std::string>());
    EXPECT_EQ(apply_chat_template(ChatStyle::kLlama2, messages, false), c["llama2"].get<std::string>());
    EXPECT_EQ(apply_chat_template(ChatStyle::kLlama3, messages, true), c["llama3"].get<std::string>());
  }
}

TEST(ChatTemplate, DetectsStylesAndTheDefaultSystemPrompt) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  const Loaded l = load(testing::default_model());
  const std::string source = l.file->meta.get_string("tokenizer.chat_template");
  EXPECT_EQ(detect_chat_style(source), ChatStyle::kChatMl);
  EXPECT_EQ(default_system_prompt(source), "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  std::ifstream in(testing::fixture("models/tiny-llama-spm-hf/chat_template.jinja"));
  const std::string llama2((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(detect_chat_style(llama2), ChatStyle::kLlama2);
  EXPECT_EQ(default_system_prompt(llama2), "");
  EXPECT_THROW(detect_chat_style(""), Error);
  EXPECT_THROW(detect_chat_style("{{ messages }}"), Error);
}

}  // namespace
}  // namespace kvscope
