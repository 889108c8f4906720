#pragma once
// Text to token ids and back, as the model's reference tokenizer does it. Built from GGUF-style
// metadata (`tokenizer.ggml.*`); Hugging Face tokenizer.json files are translated into the same
// keys by formats/hf_folder.cpp.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/metadata.h"

namespace kvscope {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Throws Error naming the file and key when the metadata describes no supported tokenizer.
  static std::unique_ptr<Tokenizer> from_metadata(const Metadata& meta);

  // `text` must be valid UTF-8 (Error otherwise). With parse_special, the text of special tokens
  // (such as "<|im_start|>") becomes their ids; without it, it is tokenized as plain text.
  // User-defined tokens (added tokens that are not special) are matched either way.
  // add_bos prepends the BOS token when the model asks for one (tokenizer.ggml.add_bos_token;
  // without it, as llama.cpp: SentencePiece and Llama 3 vocabularies do, GPT-2 ones do not).
  virtual std::vector<int32_t> encode(std::string_view text, bool parse_special,
                                      bool add_bos) const = 0;
  // The bytes a token stands for (byte-level tokens mapped back to bytes, "▁" to a space, byte
  // fallback tokens to their byte). Control tokens decode to their text.
  virtual std::string token_bytes(int32_t id) const = 0;
  // The token's text as stored in the vocabulary.
  virtual const std::string& token_text(int32_t id) const = 0;

  std::string decode(std::span<const int32_t> ids) const;

  virtual std::string kind() const = 0;  // e.g. "byte-level BPE (smollm)"
  virtual int vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 when none
  virtual int32_t eos_id() const = 0;
  // Tokens that end a generation: EOS, EOT and the chat end marker where the vocabulary has them.
  virtual std::vector<int32_t> end_ids() const = 0;
  virtual bool is_special(int32_t id) const = 0;
  // SentencePiece-style vocabularies prefix the text with a space when encoding; decoding the
  // start of a text removes it again.
  virtual bool adds_space_prefix() const { return false; }
};

// Turns a stream of tokens into text without ever splitting a UTF-8 character: bytes of an
// incomplete character wait for the token that completes them.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  std::string push(int32_t id);  // the complete characters now available
  std::string flush();           // whatever is left (invalid bytes become U+FFFD)

 private:
  const Tokenizer& tokenizer_;
  std::string pending_;
  bool at_start_ = true;
};

}  // namespace kvscope
