#pragma once
// Shared by the tokenizer fuzzers: a tokenizer built from untrusted input must encode, decode and
// stream-decode any text without crashing (kvscope::Error is an answer, not a finding).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace kvscope::fuzz {

inline void round_trip(const Tokenizer& tokenizer, std::string_view text, bool parse_special) {
  try {
    const std::vector<int32_t> ids = tokenizer.encode(text, parse_special, /*add_bos=*/true);
    (void)tokenizer.decode(ids);
    StreamDecoder stream(tokenizer);
    for (int32_t id : ids) {
      (void)tokenizer.token_text(id);
      (void)tokenizer.is_special(id);
      (void)stream.push(id);
    }
    (void)stream.flush();
  } catch (const Error&) {
  }
}

// Fixed texts that reach the special tokens, multi-byte characters and "▁", then the input's
// last bytes, so that the fuzzer varies the text as well.
inline void exercise(const Tokenizer& tokenizer, const uint8_t* data, size_t size) {
  (void)tokenizer.kind();
  (void)tokenizer.end_ids();
  round_trip(tokenizer, "Hello, world! It's 2024: caf\xc3\xa9 \xe2\x96\x81\xf0\x9f\x98\x80\n",
             false);
  round_trip(tokenizer, "<|im_start|>user\n<s>hi</s><|eot_id|>", true);
  const size_t tail = std::min<size_t>(size, 24);
  round_trip(tokenizer, {reinterpret_cast<const char*>(data + size - tail), tail}, true);
}

}  // namespace kvscope::fuzz
