#pragma once
// SentencePiece-style BPE as Llama 2 does it (tokenizer.ggml.model "llama"): spaces become "▁",
// the text gets a leading "▁", adjacent pieces merge by highest score while the merged piece is
// in the vocabulary, and pieces left without a token fall back to <0xNN> byte tokens.
#include "tokenizer/vocab_tokenizer.h"

namespace kvscope {

class SpmTokenizer : public VocabTokenizer {
 public:
  explicit SpmTokenizer(const Metadata& meta);

  std::string token_bytes(int32_t id) const override { return metaspace_token_bytes(id); }
  std::string kind() const override { return "SentencePiece BPE"; }
  bool adds_space_prefix() const override { return add_space_prefix_; }

 protected:
  void encode_plain(std::string_view text, bool run_start,
                    std::vector<int32_t>& out) const override;

 private:
  // The token a piece of text may become: a normal or user-defined one (SentencePiece never
  // merges into control, byte or unused pieces); -1 if none.
  int32_t piece_token(std::string_view text) const;
  void merge(const std::string& escaped, std::vector<int32_t>& out) const;
  void emit(std::string_view piece, std::vector<int32_t>& out) const;

  std::vector<float> scores_;
  bool add_space_prefix_;
};

}  // namespace kvscope
