#pragma once
// WordPiece as BERT does it (tokenizer.ggml.model "bert"): the text is cleaned, lowercased and
// stripped of accents, split at whitespace, punctuation and CJK characters, and each word becomes
// its longest vocabulary pieces from the left, or the unknown token when it cannot. As llama.cpp's
// converter writes the vocabulary, a piece that starts a word carries a "▁" and the others have
// no "##".
#include "tokenizer/vocab_tokenizer.h"

namespace kvscope {

class WordPieceTokenizer : public VocabTokenizer {
 public:
  explicit WordPieceTokenizer(const Metadata& meta);

  std::string token_bytes(int32_t id) const override { return metaspace_token_bytes(id); }
  std::string kind() const override { return "WordPiece"; }
  bool adds_space_prefix() const override { return true; }

 protected:
  void encode_plain(std::string_view text, bool run_start,
                    std::vector<int32_t>& out) const override;

 private:
  std::vector<std::string> split_words(std::string_view text) const;
  void encode_word(const std::string& word, std::vector<int32_t>& out) const;

  bool lowercase_;
  bool strip_accents_;
};

}  // namespace kvscope
