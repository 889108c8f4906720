// GGUF reader: any input must either parse into in-bounds views or be rejected with
// kvscope::Error; a parsed file then goes through read_config, which may reject it the same way.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "formats/gguf.h"
#include "fuzz_views.h"
#include "models/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  kvscope::ModelFile file;
  file.path = "fuzz.gguf";
  try {
    kvscope::parse_gguf(input, file);
  } catch (const kvscope::Error&) {
    return 0;
  }
  kvscope::fuzz::touch_views(file, input);
  try {
    (void)kvscope::read_config(file);
    (void)kvscope::count_parameters(file);
  } catch (const kvscope::Error&) {
  }
  return 0;
}
