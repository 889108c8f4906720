// The tokenizers against the reference implementations (scripts/make_tokenizer_goldens.py) on a
// corpus of many scripts, emoji, numbers, code, whitespace and special-token text.
#include <gtest/gtest.h>

#include "tokenizer_fixtures.h"

namespace kvscope {
namespace {

using testing::expect_matches;
using testing::load_tokenizer;
using testing::tiny_vocabulary;
using testing::tokenizer_goldens;

// llama.cpp puts SentencePiece's space prefix after user-defined tokens too; SentencePiece itself
// (which kvscope follows) prefixes only the text's start and, in kvscope and llama.cpp, what
// follows a control token.
bool has_user_defined_token(const std::string& text, const std::string&) {
  return text.find("<think>") != std::string::npos;
}

TEST(TokenizerCorpus, DefaultModelMatchesTransformers) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  const auto loaded = load_tokenizer(testing::default_model());
  EXPECT_EQ(loaded.tokenizer->kind(), "byte-level BPE (smollm)");
  expect_matches(*loaded.tokenizer, "default_model");
}

TEST(TokenizerCorpus, DefaultModelMatchesLlamaCpp) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  expect_matches(*load_tokenizer(testing::default_model()).tokenizer, "default_model_llama_cpp");
}

// One small vocabulary behind each pre-tokenizer: GPT-2's regex, SmolLM's digit split before
// it, Llama 3's regex with ignore_merges.
TEST(TokenizerCorpus, TinyByteLevelVocabulariesMatchTokenizers) {
  for (const char* name : {"tiny_bpe_gpt_2", "tiny_bpe_smollm", "tiny_bpe_llama_bpe"}) {
    SCOPED_TRACE(name);
    expect_matches(*load_tokenizer(tiny_vocabulary(name)).tokenizer, name);
  }
}

TEST(TokenizerCorpus, TinyByteLevelVocabulariesMatchLlamaCpp) {
  for (const char* name : {"tiny_bpe_gpt_2", "tiny_bpe_smollm", "tiny_bpe_llama_bpe"}) {
    SCOPED_TRACE(name);
    expect_matches(*load_tokenizer(tiny_vocabulary(name)).tokenizer,
                   std::string(name) + "_llama_cpp");
  }
}

TEST(TokenizerCorpus, TinySentencePieceMatchesSentencePiece) {
  const auto loaded = load_tokenizer(tiny_vocabulary("tiny_spm"));
  EXPECT_EQ(loaded.tokenizer->kind(), "SentencePiece BPE");
  expect_matches(*loaded.tokenizer, "tiny_spm");
}

TEST(TokenizerCorpus, TinySentencePieceMatchesLlamaCpp) {
  expect_matches(*load_tokenizer(tiny_vocabulary("tiny_spm")).tokenizer, "tiny_spm_llama_cpp",
                 has_user_defined_token);
}

// The tiny checkpoint folders' tokenizer.json, as formats/hf_folder.cpp translates it.
TEST(TokenizerCorpus, CheckpointFoldersMatchTokenizers) {
  for (const char* folder : {"tiny-llama-hf", "tiny-gpt2-hf", "tiny-llama-spm-hf"}) {
    SCOPED_TRACE(folder);
    expect_matches(*load_tokenizer(testing::fixture(std::string("models/") + folder)).tokenizer,
                   folder);
  }
}

TEST(TokenizerCorpus, GgufAndTokenizerJsonGiveTheSameIds) {
  const auto gguf = load_tokenizer(testing::fixture("models/tiny-llama-spm-bf16.gguf"));
  const auto hf = load_tokenizer(testing::fixture("models/tiny-llama-spm-hf"));
  for (const auto& text : tokenizer_goldens()["corpus"])
    EXPECT_EQ(gguf.tokenizer->encode(text.get<std::string>(), true, true),
              hf.tokenizer->encode(text.get<std::string>(), true, true));
}

// decode(encode(text)) == text on every line, with and without special tokens parsed.
void expect_round_trips(const Tokenizer& tok) {
  for (const auto& line : tokenizer_goldens()["corpus"]) {
    const std::string text = line;
    for (bool parse_special : {false, true})
      EXPECT_EQ(tok.decode(tok.encode(text, parse_special, false)), text)
          << "parse_special " << parse_special;
  }
}

TEST(TokenizerCorpus, DecodingGivesTheTextBack) {
  for (const char* name : {"tiny_bpe_gpt_2", "tiny_bpe_smollm", "tiny_bpe_llama_bpe", "tiny_spm"}) {
    SCOPED_TRACE(name);
    expect_round_trips(*load_tokenizer(tiny_vocabulary(name)).tokenizer);
  }
  if (!testing::default_model().empty())
    expect_round_trips(*load_tokenizer(testing::default_model()).tokenizer);
}

}  // namespace
}  // namespace kvscope
