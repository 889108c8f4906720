#include "tokenizer/wordpiece_tokenizer.h"

#include <utf8proc.h>

#include <memory>

#include "core/error.h"
#include "tokenizer/metaspace.h"
#include "tokenizer/utf8.h"

namespace kvscope {
namespace {

// Hugging Face's BertTokenizer gives a longer word the unknown token whole.
constexpr size_t kMaxWordChars = 100;

// The code points of `text`, canonically decomposed (NFD) when asked.
std::vector<uint32_t> code_points(std::string_view text, bool decompose) {
  std::string decomposed;
  if (decompose) {
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                     static_cast<utf8proc_ssize_t>(text.size()), &mapped, UTF8PROC_DECOMPOSE);
    const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(mapped, &std::free);
    if (n < 0) fail("text cannot be normalized: {}", utf8proc_errmsg(n));
    decomposed.assign(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
    text = decomposed;
  }
  std::vector<uint32_t> out;
  for (size_t i = 0; i < text.size();) out.push_back(next_code_point(text, i));
  return out;
}

bool is_whitespace(uint32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
         utf8proc_category(static_cast<utf8proc_int32_t>(cp)) == UTF8PROC_CATEGORY_ZS;
}

// BERT's "control": any category C* but the whitespace controls; dropped with NUL and U+FFFD.
bool is_dropped(uint32_t cp) {
  if (cp == 0 || cp == 0xfffd) return true;
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  const auto c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return c == UTF8PROC_CATEGORY_CN || c >= UTF8PROC_CATEGORY_CC;
}

// ASCII punctuation and symbols, and every Unicode punctuation: a word of its own.
bool is_punctuation(uint32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126))
    return true;
  const auto c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

// The CJK ideograph blocks BERT splits into single characters (its ranges, as Hugging Face has
// them).
bool is_cjk(uint32_t cp) {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
         (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
         (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) ||
         (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(const Metadata& meta)
    : VocabTokenizer(meta, /*add_bos_default=*/false),
      lowercase_(meta.get_bool("tokenizer.ggml.normalizer.lowercase", true)),
      strip_accents_(meta.get_bool("tokenizer.ggml.normalizer.strip_accents", lowercase_)) {}

// BERT's normalizer and pre-tokenizer in one pass.
std::vector<std::string> WordPieceTokenizer::split_words(std::string_view text) const {
  std::vector<std::string> words(1);
  auto end_word = [&] {
    if (!words.back().empty()) words.emplace_back();
  };
  for (uint32_t cp : code_points(text, strip_accents_)) {
    if (is_whitespace(cp)) {
      end_word();
      continue;
    }
    if (is_dropped(cp)) continue;
    if (strip_accents_ &&
        utf8proc_category(static_cast<utf8proc_int32_t>(cp)) == UTF8PROC_CATEGORY_MN)
      continue;
    if (lowercase_) cp = static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
    if (is_punctuation(cp) || is_cjk(cp)) {
      end_word();
      words.back() = encode_utf8(cp);
      words.emplace_back();
    } else {
      words.back() += encode_utf8(cp);
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

void WordPieceTokenizer::encode_plain(std::string_view text, bool,
                                      std::vector<int32_t>& out) const {
  for (const std::string& word : split_words(text)) encode_word(word, out);
}

// Longest pieces first, from the left; a word with a stretch no piece covers is unknown whole.
void WordPieceTokenizer::encode_word(const std::string& word, std::vector<int32_t>& out) const {
  const size_t first = out.size();
  size_t chars = 0;
  for (size_t i = 0; i < word.size(); i += utf8_length(static_cast<unsigned char>(word[i])))
    ++chars;
  if (chars > kMaxWordChars) {
    push_unknown(out);
    return;
  }
  for (size_t begin = 0; begin < word.size();) {
    int32_t id = -1;
    size_t end = word.size();
    for (; end > begin; --end) {
      if (end < word.size() && (static_cast<unsigned char>(word[end]) & 0xc0) == 0x80) continue;
      const std::string_view piece = std::string_view(word).substr(begin, end - begin);
      id = find(begin == 0 ? std::string(kMetaspace) + std::string(piece) : std::string(piece));
      if (id >= 0) break;
    }
    if (id < 0) {
      out.resize(first);
      push_unknown(out);
      return;
    }
    out.push_back(id);
    begin = end;
  }
}

}  // namespace kvscope
