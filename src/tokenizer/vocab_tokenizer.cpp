#include "tokenizer/vocab_tokenizer.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "tokenizer/metaspace.h"
#include "tokenizer/utf8.h"

namespace kvscope {

VocabTokenizer::VocabTokenizer(const Metadata& meta, bool add_bos_default)
    : source_(meta.source()) {
  tokens_ = meta.get_strings("tokenizer.ggml.tokens");
  if (tokens_.empty()) fail("{}: tokenizer.ggml.tokens is empty", source_);
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (const size_t bad = find_invalid_utf8(tokens_[i]); bad != std::string::npos)
      fail("{}: tokenizer.ggml.tokens[{}] is not valid UTF-8 (byte {} is 0x{:02x})", source_, i,
           bad, static_cast<unsigned char>(tokens_[i][bad]));
  read_types(meta);
  ids_.reserve(tokens_.size());
  // The first of duplicate texts wins, as in llama.cpp's text-to-token map.
  for (size_t i = 0; i < tokens_.size(); ++i) ids_.emplace(tokens_[i], static_cast<int32_t>(i));
  bos_ = read_id(meta, "tokenizer.ggml.bos_token_id");
  eos_ = read_id(meta, "tokenizer.ggml.eos_token_id");
  unk_ = read_id(meta, "tokenizer.ggml.unknown_token_id");
  eot_ = read_id(meta, "tokenizer.ggml.eot_token_id");
  eom_ = read_id(meta, "tokenizer.ggml.eom_token_id");
  add_bos_ = meta.get_bool("tokenizer.ggml.add_bos_token", add_bos_default);
  index_special_tokens();
  for (int b = 0; b < 256; ++b) byte_ids_[b] = find(fmt::format("<0x{:02X}>", b));
}

void VocabTokenizer::read_types(const Metadata& meta) {
  if (!meta.has("tokenizer.ggml.token_type")) {
    types_.assign(tokens_.size(), kNormal);
    return;
  }
  for (int64_t t : meta.get_ints("tokenizer.ggml.token_type"))
    types_.push_back(static_cast<int>(t));
  if (types_.size() != tokens_.size())
    fail("{}: tokenizer.ggml.token_type has {} entries for {} tokens", source_, types_.size(),
         tokens_.size());
}

int32_t VocabTokenizer::read_id(const Metadata& meta, const std::string& key) const {
  const int64_t id = meta.get_int(key, -1);
  if (id < -1 || id >= static_cast<int64_t>(tokens_.size()))
    fail("{}: {} = {} is not a token id (vocabulary of {})", source_, key, id, tokens_.size());
  return static_cast<int32_t>(id);
}

// The tokens llama.cpp looks for in the text: control and unknown ones (with parse_special) and
// user-defined ones (always, as Hugging Face's added tokens that are not special).
void VocabTokenizer::index_special_tokens() {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const int t = types_[i];
    if ((t == kControl || t == kUnknown || t == kUserDefined) && !tokens_[i].empty())
      specials_by_byte_[static_cast<unsigned char>(tokens_[i][0])].push_back(
          static_cast<int32_t>(i));
  }
  for (auto& ids : specials_by_byte_)
    std::stable_sort(ids.begin(), ids.end(),
                     [&](int32_t a, int32_t b) { return tokens_[a].size() > tokens_[b].size(); });
}

size_t VocabTokenizer::checked(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size())
    fail("token id {} is outside the vocabulary of {}", id, tokens_.size());
  return static_cast<size_t>(id);
}

int32_t VocabTokenizer::find(std::string_view text) const {
  auto it = ids_.find(text);
  return it == ids_.end() ? -1 : it->second;
}

void VocabTokenizer::push_unknown(std::vector<int32_t>& out) const {
  if (unk_ >= 0) out.push_back(unk_);
}

std::string VocabTokenizer::metaspace_token_bytes(int32_t id) const {
  const std::string& text = token_text(id);
  if (type(id) == kByte && byte_token_value(text) >= 0)
    return std::string(1, static_cast<char>(byte_token_value(text)));
  if (type(id) != kNormal) return text;
  return unescape_spaces(text);
}

bool VocabTokenizer::is_special(int32_t id) const {
  const int t = types_[checked(id)];
  return t == kControl || t == kUserDefined || t == kUnknown || t == kUnused;
}

std::vector<int32_t> VocabTokenizer::end_ids() const {
  static const char* const kEndTexts[] = {"<|im_end|>", "<|eot_id|>",    "<|end_of_text|>",
                                          "</s>",       "<|endoftext|>", "<end_of_turn>",
                                          "<|end|>"};
  std::vector<int32_t> out;
  auto add = [&](int32_t id) {
    if (id >= 0 && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  add(eos_);
  add(eot_);
  add(eom_);
  for (const char* text : kEndTexts) {
    const int32_t id = find(text);
    if (id >= 0 && (types_[id] == kControl || types_[id] == kUserDefined)) add(id);
  }
  return out;
}

int32_t VocabTokenizer::match_special(std::string_view text, bool parse_special) const {
  for (int32_t id : specials_by_byte_[static_cast<unsigned char>(text[0])]) {
    if (!parse_special && types_[id] != kUserDefined) continue;
    if (text.starts_with(tokens_[id])) return id;
  }
  return -1;
}

// Special tokens split the text, the first at each position and the longest there (as Hugging
// Face's added-token matcher does); the plain text between them goes to encode_plain.
std::vector<int32_t> VocabTokenizer::encode(std::string_view text, bool parse_special,
                                            bool add_bos) const {
  if (const size_t bad = find_invalid_utf8(text); bad != std::string_view::npos)
    fail("text is not valid UTF-8: invalid UTF-8 at byte {} (0x{:02x})", bad,
         static_cast<unsigned char>(text[bad]));
  std::vector<int32_t> out;
  if (add_bos && add_bos_ && bos_ >= 0) out.push_back(bos_);
  size_t plain_begin = 0;
  bool run_start = true;
  for (size_t i = 0; i < text.size();) {
    // Matches start on character boundaries only, so that plain stretches stay valid UTF-8
    // (for the pre-tokenizer's regexes) whatever bytes a vocabulary's special tokens hold.
    const bool boundary = (static_cast<unsigned char>(text[i]) & 0xc0) != 0x80;
    const int32_t id = boundary ? match_special(text.substr(i), parse_special) : -1;
    if (id < 0) {
      ++i;
      continue;
    }
    const bool in_run = types_[id] == kUserDefined;
    if (i > plain_begin || (run_start && in_run))
      encode_plain(text.substr(plain_begin, i - plain_begin), run_start, out);
    out.push_back(id);
    run_start = !in_run;
    i += tokens_[id].size();
    plain_begin = i;
  }
  if (plain_begin < text.size()) encode_plain(text.substr(plain_begin), run_start, out);
  return out;
}

}  // namespace kvscope
