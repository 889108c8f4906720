#pragma once
// How SentencePiece-style vocabularies write text (Hugging Face's "Metaspace"): a space is "▁",
// a byte without a token of its own is the token "<0xNN>". Llama 2's SentencePiece BPE and
// Gemma 4's BPE both do.
#include <string>
#include <string_view>

namespace kvscope {

inline constexpr std::string_view kMetaspace = "\xe2\x96\x81";  // "▁"

std::string escape_spaces(std::string_view text);    // ' ' to "▁"
std::string unescape_spaces(std::string_view text);  // "▁" to ' '
int byte_token_value(std::string_view text);         // the byte of "<0xNN>", -1 for other text

}  // namespace kvscope
