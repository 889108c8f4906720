#pragma once
// Shared by the fuzzers: proves that every tensor view a reader accepted lies inside the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "formats/model_file.h"

namespace kvscope::fuzz {

// Where the loads go, so that the compiler keeps them.
inline volatile uint8_t sink;

// Checks the bounds explicitly and also loads the first and last byte, so that AddressSanitizer
// sees any view that reaches outside the (exactly sized) input buffer.
inline void touch_views(const ModelFile& file, std::span<const uint8_t> input) {
  const uint8_t* begin = input.data();
  const uint8_t* end = input.data() + input.size();
  for (const auto& [name, t] : file.tensors) {
    const size_t bytes = t.bytes();
    if (bytes == 0) continue;
    if (t.data < begin || t.data > end || bytes > static_cast<size_t>(end - t.data)) {
      std::fprintf(stderr, "tensor '%s' (%zu bytes) lies outside the %zu-byte input\n",
                   name.c_str(), bytes, input.size());
      std::abort();
    }
    sink = t.data[0];
    sink = t.data[bytes - 1];
  }
}

}  // namespace kvscope::fuzz
