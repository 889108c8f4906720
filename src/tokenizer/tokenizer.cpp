#include "tokenizer/tokenizer.h"

#include "core/error.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace kvscope {

std::unique_ptr<Tokenizer> Tokenizer::from_metadata(const Metadata& meta) {
  const std::string model = meta.get_string("tokenizer.ggml.model");
  if (model == "gpt2" || model == "gemma4") return std::make_unique<BpeTokenizer>(meta);
  if (model == "llama") return std::make_unique<SpmTokenizer>(meta);
  if (model == "bert") return std::make_unique<WordPieceTokenizer>(meta);
  fail("{}: tokenizer model '{}' is not supported (supported: gpt2, gemma4, llama, bert)",
       meta.source(), model);
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  StreamDecoder decoder(*this);
  std::string out;
  for (int32_t id : ids) out += decoder.push(id);
  return out + decoder.flush();
}

std::string StreamDecoder::push(int32_t id) {
  std::string bytes = tokenizer_.token_bytes(id);
  // The space a SentencePiece vocabulary put in front of the text is not part of it.
  if (at_start_ && tokenizer_.adds_space_prefix() && !tokenizer_.is_special(id) && !bytes.empty()) {
    if (bytes[0] == ' ') bytes.erase(0, 1);
    at_start_ = false;
  }
  pending_ += bytes;
  const size_t ready = complete_utf8_prefix(pending_);
  std::string out = sanitize_utf8(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = sanitize_utf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace kvscope
