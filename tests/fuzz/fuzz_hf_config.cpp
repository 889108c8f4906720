// A Hugging Face config.json: any input must translate into hyperparameters that read_config
// accepts or rejects with kvscope::Error, or be rejected itself the same way.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "formats/hf_config.h"
#include "models/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvscope;
  ModelFile file;
  file.path = "fuzz";
  file.format = FileFormat::kSafetensors;
  file.meta = Metadata("fuzz");
  try {
    hf::with_json_errors("fuzz", [&] {
      const hf::JsonFile config =
          hf::parse_json({reinterpret_cast<const char*>(data), size}, "config.json");
      (void)hf::translate_config("fuzz", config, file.meta);
    });
    (void)read_config(file);
  } catch (const Error&) {
  }
  return 0;
}
