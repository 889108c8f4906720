#include "tokenizer/bpe_tokenizer.h"

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace kvscope {
namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others for
// U+0100 onwards, so that every byte is a visible character.
uint32_t byte_code_point(int b, int& next_extra) {
  const bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  return printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + next_extra++);
}

}  // namespace

BpeTokenizer::BpeTokenizer(const Metadata& meta)
    : VocabTokenizer(meta),
      pre_name_(meta.get_string("tokenizer.ggml.pre", "default")),
      pre_(pre_name_, meta.source()),
      ignore_merges_(pre_name_ == "llama3" || pre_name_ == "llama-v3" || pre_name_ == "llama-bpe") {
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const uint32_t cp = byte_code_point(b, extra);
    byte_chars_[b] = encode_utf8(cp);
    char_bytes_[cp] = static_cast<uint8_t>(b);
  }
  const std::vector<std::string> merges = meta.get_strings("tokenizer.ggml.merges");
  merge_rank_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    if (merges[i].find(' ') == std::string::npos)
      fail("{}: tokenizer.ggml.merges[{}] = '{}' is not two tokens separated by a space", source_, i, merges[i]);
    merge_rank_.emplace(merges[i], static_cast<int>(i));
  }
}

std::string BpeTokenizer::token_bytes(int32_t id) const {
  const std::string& text = token_text(id);
  if (types_[checked(id)] == kControl || types_[id] == kUserDefined) return text;
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const int len = utf8_length(static_cast<unsigned char>(text[i]));
    uint32_t cp = static_cast<unsigned char>(text[i]) & (len == 1 ? 0x7f : 0xff >> (len + 1));
    for (int k = 1; k < len && i + k < text.size(); ++k) cp = (cp << 6) | (text[i + k] & 0x3f);
    auto it = char_bytes_.find(cp);
    if (it != char_bytes_.end())
      out += static_cast<char>(it->second);
    else
      out.append(text, i, static_cast<size_t>(len));  // not a byte character: keep it as text
    i += static_cast<size_t>(len);
  }
  return out;
}

void BpeTokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  for (std::string_view word : pre_.split(text)) {
    std::string mapped;
    for (char c : word) mapped += byte_chars_[static_cast<unsigned char>(c)];
    encode_word(mapped, out);
  }
}

// Merges the pair of lowest rank until none is left, then looks the pieces up.
void BpeTokenizer::encode_word(const std::string& mapped, std::vector<int32_t>& out) const {
  // Llama 3's tokenizer takes a word that is a token as it is ("ignore_merges").
  if (ignore_merges_) {
    if (const int32_t whole = find(mapped); whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  std::vector<std::string> parts;
  for (size_t i = 0; i < mapped.size();) {
    const size_t len = static_cast<size_t>(utf8_length(static_cast<unsigned char>(mapped[i])));
    parts.push_back(mapped.substr(i, len));
    i += len;
  }
  std::string key;
  while (parts.size() > 1) {
    int best_rank = -1;
    size_t best = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      key.assign(parts[i]).append(" ").append(parts[i + 1]);
      auto it = merge_rank_.find(key);
      if (it != merge_rank_.end() && (best_rank < 0 || it->second < best_rank)) {
        best_rank = it->second;
        best = i;
      }
    }
    if (best_rank < 0) break;
    parts[best] += parts[best + 1];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  for (const std::string& part : parts) {
    const int32_t id = find(part);
    if (id >= 0) {
      out.push_back(id);
    } else if (unk_ >= 0) {
      out.push_back(unk_);
    } else {
      fail("{}: the vocabulary has no token for '{}' and no unknown token", source_, part);
    }
  }
}

}  // namespace kvscope
