#pragma once
// Small UTF-8 helpers for the tokenizers.
#include <cstdint>
#include <string>
#include <string_view>

namespace kvscope {

// Length of the UTF-8 sequence starting with byte c (1 for invalid lead bytes).
inline int utf8_length(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) return 2;
  if ((c & 0xf0) == 0xe0) return 3;
  if ((c & 0xf8) == 0xf0) return 4;
  return 1;
}

// Byte offset of the first invalid sequence, or npos when `text` is valid UTF-8.
size_t find_invalid_utf8(std::string_view text);

// How many leading bytes of `text` form complete characters, leaving out an incomplete (but so
// far valid) sequence at the end.
size_t complete_utf8_prefix(std::string_view text);

// `text` with every invalid sequence replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

std::string encode_utf8(uint32_t code_point);

// The code point of the character at text[i] (which must start valid UTF-8); advances i past it.
uint32_t next_code_point(std::string_view text, size_t& i);

}  // namespace kvscope
