// The tokenizers' edge cases: special tokens, BOS, end tokens, invalid input, streaming decode,
// unsupported metadata, long inputs.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "formats/gguf.h"
#include "tokenizer_fixtures.h"

namespace kvscope {
namespace {

using testing::load_tokenizer;
using testing::tiny_vocabulary;

bool contains(const std::vector<int32_t>& ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

int32_t id_of(const Tokenizer& tok, const std::string& text) {
  for (int32_t id = 0; id < tok.vocab_size(); ++id)
    if (tok.token_text(id) == text) return id;
  return -1;
}

MetaValue strings(const std::vector<std::string>& items) {
  std::vector<MetaValue> values;
  for (const std::string& s : items) values.push_back(MetaValue::of_string(s));
  return MetaValue::of_array(MetaType::kString, std::move(values));
}

MetaValue ints(const std::vector<int64_t>& items) {
  std::vector<MetaValue> values;
  for (int64_t v : items) values.push_back(MetaValue::of_int(v, MetaType::kI32));
  return MetaValue::of_array(MetaType::kI32, std::move(values));
}

// A byte-level vocabulary of a few ASCII characters (which GPT-2's byte table keeps as they are).
Metadata small_byte_level(const std::vector<std::string>& tokens, const std::vector<int64_t>& types,
                          const std::vector<std::string>& merges = {}) {
  Metadata meta("small.gguf");
  meta.set("tokenizer.ggml.model", MetaValue::of_string("gpt2"));
  meta.set("tokenizer.ggml.pre", MetaValue::of_string("gpt2"));
  meta.set("tokenizer.ggml.tokens", strings(tokens));
  meta.set("tokenizer.ggml.token_type", ints(types));
  meta.set("tokenizer.ggml.merges", strings(merges));
  return meta;
}

TEST(Tokenizer, SpecialTokensParseOnlyWhenAsked) {
  const auto loaded = load_tokenizer(tiny_vocabulary("tiny_bpe_gpt_2"));
  const Tokenizer& tok = *loaded.tokenizer;
  const std::string text = "<|im_start|>user\nHi<|im_end|>";
  const std::vector<int32_t> parsed = tok.encode(text, true, false);
  EXPECT_EQ(parsed.front(), id_of(tok, "<|im_start|>"));
  EXPECT_EQ(parsed.back(), id_of(tok, "<|im_end|>"));
  const std::vector<int32_t> plain = tok.encode(text, false, false);
  EXPECT_GT(plain.size(), parsed.size());
  for (int32_t id : plain) EXPECT_FALSE(tok.is_special(id)) << tok.token_text(id);
  EXPECT_EQ(tok.decode(parsed), text);
  EXPECT_EQ(tok.decode(plain), text);
}

// User-defined tokens (added tokens that are not special) split the text even without
// parse_special, as in Hugging Face's tokenizers, SentencePiece and llama.cpp.
TEST(Tokenizer, UserDefinedTokensAreAlwaysMatched) {
  for (const char* name : {"tiny_bpe_gpt_2", "tiny_spm"}) {
    const auto loaded = load_tokenizer(tiny_vocabulary(name));
    const int32_t think = id_of(*loaded.tokenizer, "<think>");
    ASSERT_GE(think, 0) << name;
    for (bool parse_special : {false, true})
      EXPECT_TRUE(contains(loaded.tokenizer->encode("so <think>hard", parse_special, false), think))
          << name;
  }
}

TEST(Tokenizer, TheLongestSpecialTokenWins) {
  const auto tok = Tokenizer::from_metadata(small_byte_level(
      {"a", "b", "<", "|", ">", "x", "<|x|>", "<|x|>a"}, {1, 1, 1, 1, 1, 1, 3, 3}));
  EXPECT_EQ(tok->encode("b<|x|>ab<|x|>b", true, false), (std::vector<int32_t>{1, 7, 1, 6, 1}));
  EXPECT_EQ(tok->encode("<|x|", true, false), (std::vector<int32_t>{2, 3, 5, 3}));
}

TEST(Tokenizer, MergesApplyInRankOrder) {
  // "abab": a+b (rank 0) before b+a (rank 1), then ab+ab (rank 2).
  const auto tok = Tokenizer::from_metadata(
      small_byte_level({"a", "b", "ab", "ba", "abab"}, {1, 1, 1, 1, 1}, {"a b", "b a", "ab ab"}));
  EXPECT_EQ(tok->encode("abab", false, false), (std::vector<int32_t>{4}));
  EXPECT_EQ(tok->encode("aba", false, false), (std::vector<int32_t>{2, 0}));
  EXPECT_EQ(tok->encode("bab", false, false), (std::vector<int32_t>{1, 2}));
}

// Llama 3's vocabularies take a word that is a token as it is (ignore_merges); merging "abc"
// would make b+c first and never reach "abc".
TEST(Tokenizer, Llama3TakesAWordThatIsATokenWhole) {
  Metadata meta = small_byte_level({"a", "b", "c", "ab", "bc", "abc"}, {1, 1, 1, 1, 1, 1},
                                   {"b c", "a b", "ab c"});
  EXPECT_EQ(Tokenizer::from_metadata(meta)->encode("abc", false, false),
            (std::vector<int32_t>{0, 4}));
  meta.set("tokenizer.ggml.pre", MetaValue::of_string("llama-bpe"));
  EXPECT_EQ(Tokenizer::from_metadata(meta)->encode("abc", false, false), (std::vector<int32_t>{5}));
}

// A character the vocabulary lacks becomes the unknown token, or nothing without one.
TEST(Tokenizer, UnknownCharacters) {
  Metadata meta = small_byte_level({"a", "<unk>"}, {1, 2});
  EXPECT_EQ(Tokenizer::from_metadata(meta)->encode("a\xc3\xa9"
                                                   "a",
                                                   false, false),
            (std::vector<int32_t>{0, 0}));
  meta.set("tokenizer.ggml.unknown_token_id", MetaValue::of_int(1, MetaType::kU32));
  EXPECT_EQ(Tokenizer::from_metadata(meta)->encode("a\xc3\xa9"
                                                   "a",
                                                   false, false),
            (std::vector<int32_t>{0, 1, 1, 0}));
}

TEST(Tokenizer, EndIdsIncludeTheChatEndMarkers) {
  const auto bpe = load_tokenizer(tiny_vocabulary("tiny_bpe_gpt_2"));
  const std::vector<int32_t> ends = bpe.tokenizer->end_ids();
  EXPECT_EQ(ends.front(), bpe.tokenizer->eos_id());
  EXPECT_TRUE(contains(ends, id_of(*bpe.tokenizer, "<|endoftext|>")));
  EXPECT_TRUE(contains(ends, id_of(*bpe.tokenizer, "<|im_end|>")));
  EXPECT_FALSE(contains(ends, id_of(*bpe.tokenizer, "<|im_start|>")));
  const auto spm = load_tokenizer(tiny_vocabulary("tiny_spm"));
  EXPECT_EQ(spm.tokenizer->end_ids(), std::vector<int32_t>{id_of(*spm.tokenizer, "</s>")});
  if (testing::default_model().empty()) return;
  const auto smol = load_tokenizer(testing::default_model());
  EXPECT_EQ(smol.tokenizer->eos_id(), 2);               // <|im_end|>
  EXPECT_TRUE(contains(smol.tokenizer->end_ids(), 0));  // <|endoftext|>
}

TEST(Tokenizer, AddsBosOnlyWhenTheModelWantsIt) {
  const auto spm = load_tokenizer(tiny_vocabulary("tiny_spm"));  // add_bos_token: true
  EXPECT_EQ(spm.tokenizer->encode("hi", false, true).front(), spm.tokenizer->bos_id());
  EXPECT_NE(spm.tokenizer->encode("hi", false, false).front(), spm.tokenizer->bos_id());
  const auto bpe = load_tokenizer(tiny_vocabulary("tiny_bpe_gpt_2"));  // add_bos_token: false
  EXPECT_NE(bpe.tokenizer->encode("hi", false, true).front(), bpe.tokenizer->bos_id());
}

// Without tokenizer.ggml.add_bos_token, SentencePiece and Llama 3 vocabularies add BOS and GPT-2
// ones do not, as in llama.cpp.
TEST(Tokenizer, BosDefaultsFollowLlamaCpp) {
  for (const auto& [name, pre, adds] :
       {std::tuple{"tiny_spm", "default", true}, std::tuple{"tiny_bpe_gpt_2", "gpt2", false},
        std::tuple{"tiny_bpe_llama_bpe", "llama-bpe", true}}) {
    auto file = read_gguf(tiny_vocabulary(name));
    Metadata meta(file->path);
    for (const auto& [key, value] : file->meta.all())
      if (key != "tokenizer.ggml.add_bos_token") meta.set(key, value);
    const auto tok = Tokenizer::from_metadata(meta);
    EXPECT_EQ(tok->encode("hi", false, true).front() == tok->bos_id(), adds) << name << " " << pre;
  }
}

TEST(Tokenizer, EmptyText) {
  const auto spm = load_tokenizer(tiny_vocabulary("tiny_spm"));
  EXPECT_TRUE(spm.tokenizer->encode("", true, false).empty());
  EXPECT_EQ(spm.tokenizer->encode("", true, true), std::vector<int32_t>{spm.tokenizer->bos_id()});
  EXPECT_EQ(spm.tokenizer->decode({}), "");
}

TEST(Tokenizer, InvalidUtf8IsAnError) {
  const auto loaded = load_tokenizer(tiny_vocabulary("tiny_bpe_gpt_2"));
  for (const std::string bad :
       {"abc\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "ok\xf5\x80\x80\x80", "\xe2\x82"})
    EXPECT_THROW(loaded.tokenizer->encode(bad, false, false), Error) << bad;
  try {
    loaded.tokenizer->encode("abc\xff", false, false);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid UTF-8 at byte 3"), std::string::npos) << e.what();
  }
}

// Pushes the ids one by one; every piece must be whole characters, the whole the text.
void expect_streams(const Tokenizer& tok, const std::string& text) {
  const std::vector<int32_t> ids = tok.encode(text, false, false);
  StreamDecoder decoder(tok);
  std::string streamed;
  int held_back = 0;
  for (int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_NO_THROW(tok.encode(piece, false, false)) << "token " << id << " gave a split character";
    held_back += piece.empty();
    streamed += piece;
  }
  EXPECT_EQ(streamed + decoder.flush(), text);
  // The small vocabularies split the emoji into byte tokens, so some bytes had to wait.
  EXPECT_GT(held_back, 0);
}

TEST(Tokenizer, StreamingNeverSplitsACharacter) {
  const std::string text = "Emoji: 👨‍👩‍👧‍👦 and 中文 and é";
  expect_streams(*load_tokenizer(tiny_vocabulary("tiny_bpe_gpt_2")).tokenizer, text);
  expect_streams(*load_tokenizer(tiny_vocabulary("tiny_spm")).tokenizer, text);
}

TEST(Tokenizer, FlushReplacesAnUnfinishedCharacter) {
  const auto loaded = load_tokenizer(tiny_vocabulary("tiny_spm"));
  StreamDecoder decoder(*loaded.tokenizer);
  EXPECT_EQ(decoder.push(id_of(*loaded.tokenizer, "<0xF0>")), "");
  EXPECT_EQ(decoder.push(id_of(*loaded.tokenizer, "<0x9F>")), "");
  EXPECT_EQ(decoder.flush(), "\xef\xbf\xbd\xef\xbf\xbd");
}

// "gpt2" names the same pre-tokenizer as llama.cpp's "gpt-2".
TEST(Tokenizer, Gpt2IsAnotherNameForGpt2PreTokenizer) {
  const auto loaded = load_tokenizer(tiny_vocabulary("tiny_bpe_gpt_2"));
  Metadata meta = loaded.file->meta;
  meta.set("tokenizer.ggml.pre", MetaValue::of_string("gpt2"));
  const auto tok = Tokenizer::from_metadata(meta);
  const auto& goldens = testing::tokenizer_goldens();
  for (size_t i = 0; i < goldens["corpus"].size(); ++i)
    EXPECT_EQ(tok->encode(goldens["corpus"][i].get<std::string>(), false, false),
              goldens["references"]["tiny_bpe_gpt_2"]["plain"][i].get<std::vector<int32_t>>());
}

TEST(Tokenizer, UnsupportedMetadataIsAnError) {
  Metadata meta = small_byte_level({"a"}, {1});
  meta.set("tokenizer.ggml.model", MetaValue::of_string("wordpiece"));
  EXPECT_THROW(Tokenizer::from_metadata(meta), Error);
  meta = small_byte_level({"a"}, {1});
  meta.set("tokenizer.ggml.pre", MetaValue::of_string("unknown-pre"));
  EXPECT_THROW(Tokenizer::from_metadata(meta), Error);
  meta = small_byte_level({"a"}, {1});
  meta.set("tokenizer.ggml.eos_token_id", MetaValue::of_int(5, MetaType::kU32));
  EXPECT_THROW(Tokenizer::from_metadata(meta), Error);
  meta = small_byte_level({"a"}, {1, 1});
  EXPECT_THROW(Tokenizer::from_metadata(meta), Error);
  EXPECT_THROW(Tokenizer::from_metadata(small_byte_level({"a"}, {1}, {"ab"})), Error);
  EXPECT_THROW(Tokenizer::from_metadata(small_byte_level({"a"}, {1}))->token_text(1), Error);
}

// A word of 200 000 characters takes milliseconds: merging is O(n log n), not quadratic.
TEST(Tokenizer, LongWordsEncodeQuickly) {
  std::string word;
  for (int i = 0; i < 20000; ++i) word += "abcdefghij";
  for (const char* name : {"tiny_bpe_gpt_2", "tiny_spm"}) {
    const auto loaded = load_tokenizer(tiny_vocabulary(name));
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = loaded.tokenizer->encode(word, false, false);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(loaded.tokenizer->decode(ids), word) << name;
    EXPECT_LT(seconds, 2.0) << name;
  }
}

TEST(Tokenizer, DefaultModelLoadsQuickly) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  const auto file = read_gguf(testing::default_model());
  const auto start = std::chrono::steady_clock::now();
  const auto tok = Tokenizer::from_metadata(file->meta);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(tok->vocab_size(), 49152);
  // Well under 100 ms on one core; the bound leaves room for sanitizers and a busy machine.
  EXPECT_LT(seconds, 1.0);
  ::testing::Test::RecordProperty("load_ms", static_cast<int>(seconds * 1000));
}

}  // namespace
}  // namespace kvscope
