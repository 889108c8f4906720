#include "tokenizer/metaspace.h"

#include <charconv>

namespace kvscope {

std::string escape_spaces(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ' ')
      out += kMetaspace;
    else
      out += c;
  }
  return out;
}

std::string unescape_spaces(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i).starts_with(kMetaspace)) {
      out += ' ';
      i += kMetaspace.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

int byte_token_value(std::string_view text) {
  if (text.size() != 6 || !text.starts_with("<0x") || text[5] != '>') return -1;
  int value = 0;
  const auto [end, error] = std::from_chars(text.data() + 3, text.data() + 5, value, 16);
  return error == std::errc() && end == text.data() + 5 ? value : -1;
}

}  // namespace kvscope
