#include "tokenizer/utf8.h"

namespace kvscope {
namespace {

// Length of the valid sequence at text[i], 0 if invalid, -1 if valid so far but cut short.
int valid_sequence(std::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  int len = 0;
  uint32_t cp = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  for (int k = 1; k < len; ++k) {
    if (i + k >= text.size()) return -1;
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
    // Reject overlong forms, surrogates and values past U+10FFFF as soon as they show.
    if (k == 1 && ((len == 3 && cp < 0x20) || (len == 3 && cp >= 0x360 && cp < 0x380) ||
                   (len == 4 && (cp < 0x10 || cp > 0x10f))))
      return 0;
  }
  return len;
}

}  // namespace

size_t find_invalid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const int len = valid_sequence(text, i);
    if (len <= 0) return i;
    i += static_cast<size_t>(len);
  }
  return std::string_view::npos;
}

size_t complete_utf8_prefix(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const int len = valid_sequence(text, i);
    if (len < 0) return i;  // an unfinished character: wait for more bytes
    i += static_cast<size_t>(len == 0 ? 1 : len);
  }
  return i;
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const int len = valid_sequence(text, i);
    if (len <= 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(text.substr(i, static_cast<size_t>(len)));
      i += static_cast<size_t>(len);
    }
  }
  return out;
}

std::string encode_utf8(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return out;
}

uint32_t next_code_point(std::string_view text, size_t& i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  const int len = utf8_length(lead);
  uint32_t cp = len == 1 ? lead : lead & (0xffu >> (len + 1));
  for (int k = 1; k < len && i + k < text.size(); ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
  i += static_cast<size_t>(len);
  return cp;
}

}  // namespace kvscope
