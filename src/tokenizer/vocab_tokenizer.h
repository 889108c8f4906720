#pragma once
// What every vocabulary-based tokenizer shares: the token table from metadata, special tokens
// found in the text, BOS, end tokens. Subclasses tokenize the plain text between special tokens.
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kvscope {

// GGUF's tokenizer.ggml.token_type values.
enum TokenType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

class VocabTokenizer : public Tokenizer {
 public:
  explicit VocabTokenizer(const Metadata& meta);

  std::vector<int32_t> encode(std::string_view text, bool parse_special, bool add_bos) const final;
  const std::string& token_text(int32_t id) const final { return tokens_[checked(id)]; }
  int vocab_size() const final { return static_cast<int>(tokens_.size()); }
  int32_t bos_id() const final { return bos_; }
  int32_t eos_id() const final { return eos_; }
  std::vector<int32_t> end_ids() const final;
  bool is_special(int32_t id) const final;

 protected:
  // Appends the ids of a stretch of plain text, which starts the text or follows a special token.
  virtual void encode_plain(std::string_view text, std::vector<int32_t>& out) const = 0;

  size_t checked(int32_t id) const;
  int32_t find(std::string_view text) const;  // -1 if not in the vocabulary

  std::string source_;
  std::vector<std::string> tokens_;
  std::vector<int> types_;
  int32_t bos_ = -1, eos_ = -1, unk_ = -1;
  bool add_bos_ = false;

 private:
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<int32_t> matchable_;  // control and user-defined tokens, longest first
};

}  // namespace kvscope
