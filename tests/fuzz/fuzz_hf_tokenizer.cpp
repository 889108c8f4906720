// A Hugging Face tokenizer.json: any input must translate into tokenizer metadata and then a
// working tokenizer, or be rejected with kvscope::Error (JSON of an unexpected shape included).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "formats/hf_tokenizer.h"
#include "fuzz_round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvscope;
  Metadata meta("fuzz/tokenizer.json");
  try {
    hf::with_json_errors("fuzz", [&] {
      const hf::JsonFile tok =
          hf::parse_json({reinterpret_cast<const char*>(data), size}, "tokenizer.json");
      const hf::JsonFile config = hf::parse_json("{}", "config.json");
      // Large enough for the seeds' vocabularies; ids past it are an error to reach too.
      hf::translate_tokenizer_json(tok, nullptr, config, 512, meta);
    });
  } catch (const Error&) {
    return 0;
  }
  std::unique_ptr<Tokenizer> tokenizer;
  try {
    tokenizer = Tokenizer::from_metadata(meta);
  } catch (const Error&) {
    return 0;
  }
  fuzz::exercise(*tokenizer, data, size);
  return 0;
}
