#include "tokenizer/spm_tokenizer.h"

#include <fmt/format.h>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace kvscope {
namespace {
constexpr std::string_view kSpace = "\xe2\x96\x81";  // "▁"
}  // namespace

SpmTokenizer::SpmTokenizer(const Metadata& meta)
    : VocabTokenizer(meta), add_space_prefix_(meta.get_bool("tokenizer.ggml.add_space_prefix", true)) {
  if (meta.has("tokenizer.ggml.scores")) {
    for (double s : meta.get_reals("tokenizer.ggml.scores")) scores_.push_back(static_cast<float>(s));
    if (scores_.size() != tokens_.size())
      fail("{}: tokenizer.ggml.scores has {} entries for {} tokens", source_, scores_.size(), tokens_.size());
  } else {
    scores_.assign(tokens_.size(), 0.0f);
  }
  for (int b = 0; b < 256; ++b) byte_ids_[b] = find(fmt::format("<0x{:02X}>", b));
}

std::string SpmTokenizer::token_bytes(int32_t id) const {
  const std::string& text = token_text(id);
  if (types_[checked(id)] == kByte && text.size() == 6)
    return std::string(1, static_cast<char>(std::stoi(text.substr(3, 2), nullptr, 16)));
  if (types_[id] == kControl) return text;
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

void SpmTokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  std::string escaped = add_space_prefix_ ? std::string(kSpace) : "";
  for (char c : text) {
    if (c == ' ')
      escaped += kSpace;
    else
      escaped += c;
  }
  std::vector<std::string> parts;
  for (size_t i = 0; i < escaped.size();) {
    const size_t len = static_cast<size_t>(utf8_length(static_cast<unsigned char>(escaped[i])));
    parts.push_back(escaped.substr(i, len));
    i += len;
  }
  // Merge the adjacent pair whose union is the best-scoring token (the leftmost on ties).
  while (parts.size() > 1) {
    float best_score = 0;
    size_t best = parts.size();
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const int32_t id = find(parts[i] + parts[i + 1]);
      if (id >= 0 && (best == parts.size() || scores_[id] > best_score)) {
        best_score = scores_[id];
        best = i;
      }
    }
    if (best == parts.size()) break;
    parts[best] += parts[best + 1];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  for (const std::string& part : parts) emit(part, out);
}

void SpmTokenizer::emit(const std::string& piece, std::vector<int32_t>& out) const {
  if (const int32_t id = find(piece); id >= 0) {
    out.push_back(id);
    return;
  }
  for (char c : piece) {
    const int32_t byte = byte_ids_[static_cast<unsigned char>(c)];
    if (byte >= 0) {
      out.push_back(byte);
    } else if (unk_ >= 0) {
      out.push_back(unk_);
      return;
    } else {
      fail("{}: the vocabulary has no token for '{}', no byte tokens and no unknown token", source_, piece);
    }
  }
}

}  // namespace kvscope
