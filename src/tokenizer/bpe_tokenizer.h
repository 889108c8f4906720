#pragma once
// Byte-level BPE as GPT-2 does it (tokenizer.ggml.model "gpt2"): every byte maps to a printable
// character, words from the pre-tokenizer are merged pair by pair in the order of the merge list.
#include <unordered_map>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab_tokenizer.h"

namespace kvscope {

class BpeTokenizer : public VocabTokenizer {
 public:
  explicit BpeTokenizer(const Metadata& meta);

  std::string token_bytes(int32_t id) const override;
  std::string kind() const override { return "byte-level BPE (" + pre_name_ + ")"; }

 protected:
  void encode_plain(std::string_view text, std::vector<int32_t>& out) const override;

 private:
  void encode_word(const std::string& mapped, std::vector<int32_t>& out) const;

  std::string pre_name_;
  PreTokenizer pre_;
  bool ignore_merges_;
  std::unordered_map<std::string, int> merge_rank_;  // "left right" -> rank
  std::string byte_chars_[256];                      // GPT-2's byte-to-character table
  std::unordered_map<uint32_t, uint8_t> char_bytes_;  // and back, by code point
};

}  // namespace kvscope
