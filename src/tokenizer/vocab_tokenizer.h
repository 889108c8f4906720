#pragma once
// What every vocabulary-based tokenizer shares: the token table from metadata, special tokens
// found in the text, BOS, end tokens. Subclasses tokenize the plain text between special tokens.
#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kvscope {

// GGUF's tokenizer.ggml.token_type values.
enum TokenType {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6
};

// Lets the vocabulary be searched with a string_view, without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class VocabTokenizer : public Tokenizer {
 public:
  // add_bos_default: whether the family adds BOS when tokenizer.ggml.add_bos_token is absent.
  VocabTokenizer(const Metadata& meta, bool add_bos_default);

  std::vector<int32_t> encode(std::string_view text, bool parse_special, bool add_bos) const final;
  const std::string& token_text(int32_t id) const final { return tokens_[checked(id)]; }
  int vocab_size() const final { return static_cast<int>(tokens_.size()); }
  int32_t bos_id() const final { return bos_; }
  int32_t eos_id() const final { return eos_; }
  std::vector<int32_t> end_ids() const final;
  bool is_special(int32_t id) const final;

 protected:
  // Appends the ids of a stretch of plain text. A run is the text between control tokens (user-
  // defined tokens do not end it); run_start says whether the stretch begins one. A stretch that
  // begins a run may be empty, when a user-defined token begins it.
  virtual void encode_plain(std::string_view text, bool run_start,
                            std::vector<int32_t>& out) const = 0;

  size_t checked(int32_t id) const;
  int32_t find(std::string_view text) const;  // -1 if not in the vocabulary
  int type(int32_t id) const { return types_[static_cast<size_t>(id)]; }
  // For a piece the vocabulary has no token for: the unknown token, or nothing when there is
  // none (as Hugging Face's BPE and llama.cpp both drop it).
  void push_unknown(std::vector<int32_t>& out) const;
  // The "<0xNN>" token of a byte, -1 where the vocabulary has none.
  int32_t byte_token(unsigned char byte) const { return byte_ids_[byte]; }
  // What a token of a SentencePiece-style vocabulary stands for: "▁" a space, "<0xNN>" its byte,
  // control and user-defined tokens their text.
  std::string metaspace_token_bytes(int32_t id) const;

  std::string source_;
  std::vector<std::string> tokens_;

 private:
  void read_types(const Metadata& meta);
  void index_special_tokens();
  int32_t read_id(const Metadata& meta, const std::string& key) const;
  // The special token whose text starts `text`, longest first; -1 if none.
  int32_t match_special(std::string_view text, bool parse_special) const;

  std::vector<int> types_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> ids_;
  // Tokens matched in the text (control, unknown, user-defined), by first byte, longest first.
  std::array<std::vector<int32_t>, 256> specials_by_byte_;
  std::array<int32_t, 256> byte_ids_;
  int32_t bos_ = -1, eos_ = -1, unk_ = -1, eot_ = -1, eom_ = -1;
  bool add_bos_ = false;
};

}  // namespace kvscope
