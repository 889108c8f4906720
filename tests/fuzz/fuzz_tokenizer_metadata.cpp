// Tokenizer construction from a GGUF's metadata: a vocabulary, merges, scores and special token
// ids from an untrusted file must build a working tokenizer or be rejected with kvscope::Error.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "formats/gguf.h"
#include "fuzz_round_trip.h"

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
  kvscope::fuzz::exercise(*tokenizer, data, size);
  return 0;
}
