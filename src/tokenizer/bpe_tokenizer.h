#pragma once
// BPE: words from the pre-tokenizer are merged pair by pair in the order of the merge list.
// Byte-level as GPT-2 does it (tokenizer.ggml.model "gpt2"): every byte maps to a printable
// character. Or on the UTF-8 text itself as Gemma 4 does it ("gemma4"): spaces become "▁" and
// characters without a token fall back to <0xNN> byte tokens.
#include <array>
#include <cstdint>
#include <unordered_map>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab_tokenizer.h"

namespace kvscope {

// GPT-2's bytes_to_unicode: the UTF-8 text of the character that stands for each byte.
std::array<std::string, 256> byte_level_chars();

class BpeTokenizer : public VocabTokenizer {
 public:
  explicit BpeTokenizer(const Metadata& meta);

  std::string token_bytes(int32_t id) const override;
  std::string kind() const override {
    return (byte_level_ ? "byte-level BPE (" : "BPE (") + pre_name_ + ")";
  }

 protected:
  void encode_plain(std::string_view text, bool run_start,
                    std::vector<int32_t>& out) const override;

 private:
  struct Merge {
    int rank;        // position in the merge list: lower merges first
    int32_t result;  // the token the pair becomes
  };

  void read_merges(const Metadata& meta);
  const Merge* find_merge(int32_t left, int32_t right) const;
  void encode_word(std::string_view mapped, std::vector<int32_t>& out) const;
  void push_missing(std::string_view piece, std::vector<int32_t>& out) const;

  bool byte_level_;
  std::string pre_name_;
  PreTokenizer pre_;
  bool ignore_merges_;
  std::unordered_map<uint64_t, Merge> merges_;  // by the pair's ids, left in the high half
  std::array<std::string, 256> byte_chars_;     // GPT-2's byte-to-character table
  std::vector<int> char_bytes_;                 // and back, by code point (-1: not a byte's)
};

}  // namespace kvscope
