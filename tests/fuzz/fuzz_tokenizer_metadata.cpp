// Tokenizer construction from a GGUF's metadata: a vocabulary, merges, scores and special token
// ids from an untrusted file must build a working tokenizer or be rejected with kvscope::Error.
// The input's last bytes are also encoded as text, so the fuzzer varies the text as well.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

namespace {

void round_trip(const kvscope::Tokenizer& tokenizer, std::string_view text, bool parse_special) {
  try {
    const std::vector<int32_t> ids = tokenizer.encode(text, parse_special, /*add_bos=*/true);
    (void)tokenizer.decode(ids);
    kvscope::StreamDecoder stream(tokenizer);
    for (int32_t id : ids) {
      (void)tokenizer.token_text(id);
      (void)tokenizer.is_special(id);
      (void)stream.push(id);
    }
    (void)stream.flush();
  } catch (const kvscope::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kvscope::ModelFile file;
  file.path = "fuzz.gguf";
  try {
    kvscope::parse_gguf({data, size}, file);
  } catch (const kvscope::Error&) {
    return 0;
  }
  std::unique_ptr<kvscope::Tokenizer> tokenizer;
  try {
    tokenizer = kvscope::Tokenizer::from_metadata(file.meta);
  } catch (const kvscope::Error&) {
    return 0;
  }
  (void)tokenizer->kind();
  (void)tokenizer->end_ids();
  round_trip(*tokenizer, "Hello, world! It's 2024: caf\xc3\xa9 \xe2\x96\x81\xf0\x9f\x98\x80\n",
             false);
  round_trip(*tokenizer, "<|im_start|>user\n<s>hi</s><|eot_id|>", true);
  const size_t tail = std::min<size_t>(size, 24);
  round_trip(*tokenizer, {reinterpret_cast<const char*>(data + size - tail), tail}, true);
  return 0;
}
