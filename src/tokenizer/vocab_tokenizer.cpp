#include "tokenizer/vocab_tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace kvscope {

VocabTokenizer::VocabTokenizer(const Metadata& meta) : source_(meta.source()) {
  tokens_ = meta.get_strings("tokenizer.ggml.tokens");
  if (tokens_.empty()) fail("{}: tokenizer.ggml.tokens is empty", source_);
  if (meta.has("tokenizer.ggml.token_type")) {
    for (int64_t t : meta.get_ints("tokenizer.ggml.token_type")) types_.push_back(static_cast<int>(t));
    if (types_.size() != tokens_.size())
      fail("{}: tokenizer.ggml.token_type has {} entries for {} tokens", source_, types_.size(), tokens_.size());
  } else {
    types_.assign(tokens_.size(), kNormal);
  }
  for (size_t i = 0; i < tokens_.size(); ++i) ids_.emplace(tokens_[i], static_cast<int32_t>(i));
  auto read_id = [&](const std::string& key) -> int32_t {
    const int64_t id = meta.get_int(key, -1);
    if (id < -1 || id >= static_cast<int64_t>(tokens_.size()))
      fail("{}: {} = {} is not a token id (vocabulary of {})", source_, key, id, tokens_.size());
    return static_cast<int32_t>(id);
  };
  bos_ = read_id("tokenizer.ggml.bos_token_id");
  eos_ = read_id("tokenizer.ggml.eos_token_id");
  unk_ = read_id("tokenizer.ggml.unknown_token_id");
  add_bos_ = meta.get_bool("tokenizer.ggml.add_bos_token", false);
  for (size_t i = 0; i < tokens_.size(); ++i)
    if ((types_[i] == kControl || types_[i] == kUserDefined) && !tokens_[i].empty())
      matchable_.push_back(static_cast<int32_t>(i));
  std::stable_sort(matchable_.begin(), matchable_.end(),
                   [&](int32_t a, int32_t b) { return tokens_[a].size() > tokens_[b].size(); });
}

size_t VocabTokenizer::checked(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size())
    fail("token id {} is outside the vocabulary of {}", id, tokens_.size());
  return static_cast<size_t>(id);
}

int32_t VocabTokenizer::find(std::string_view text) const {
  auto it = ids_.find(std::string(text));
  return it == ids_.end() ? -1 : it->second;
}

bool VocabTokenizer::is_special(int32_t id) const {
  const int type = types_[checked(id)];
  return type == kControl || type == kUserDefined || type == kUnknown || type == kUnused;
}

std::vector<int32_t> VocabTokenizer::end_ids() const {
  static const char* const kEndTexts[] = {"<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "</s>",
                                          "<|endoftext|>", "<end_of_turn>", "<|end|>"};
  std::vector<int32_t> out;
  if (eos_ >= 0) out.push_back(eos_);
  for (const char* text : kEndTexts) {
    const int32_t id = find(text);
    if (id >= 0 && types_[id] == kControl && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

std::vector<int32_t> VocabTokenizer::encode(std::string_view text, bool parse_special, bool add_bos) const {
  if (const size_t bad = find_invalid_utf8(text); bad != std::string_view::npos)
    fail("the text is not valid UTF-8 (invalid byte 0x{:02x} at offset {})", static_cast<unsigned char>(text[bad]), bad);
  std::vector<int32_t> out;
  if (add_bos && add_bos_ && bos_ >= 0) out.push_back(bos_);
  // Special tokens split the text; control tokens only when asked (as llama.cpp does),
  // user-defined ones always.
  size_t plain_start = 0;
  for (size_t i = 0; i < text.size();) {
    int32_t match = -1;
    for (int32_t id : matchable_) {
      if (types_[id] == kControl && !parse_special) continue;
      if (text.compare(i, tokens_[id].size(), tokens_[id]) == 0) {
        match = id;
        break;
      }
    }
    if (match < 0) {
      ++i;
      continue;
    }
    if (i > plain_start) encode_plain(text.substr(plain_start, i - plain_start), out);
    out.push_back(match);
    i += tokens_[match].size();
    plain_start = i;
  }
  if (plain_start < text.size()) encode_plain(text.substr(plain_start), out);
  return out;
}

}  // namespace kvscope
