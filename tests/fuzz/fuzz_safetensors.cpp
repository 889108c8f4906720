// Safetensors reader: any input must either parse into in-bounds views or be rejected with
// kvscope::Error.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "formats/safetensors.h"
#include "fuzz_views.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  kvscope::ModelFile file;
  file.path = "fuzz.safetensors";
  file.format = kvscope::FileFormat::kSafetensors;
  try {
    kvscope::parse_safetensors(input, file.path, file);
  } catch (const kvscope::Error&) {
    return 0;
  }
  kvscope::fuzz::touch_views(file, input);
  return 0;
}
