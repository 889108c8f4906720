#pragma once
// Scalar dequantizers: the definition of every storage type's values.
#include <cstdint>

#include "core/dtype.h"

namespace kvscope::ref {

// Writes the n values stored at src (n a multiple of the type's block size) as f32.
void dequantize_row(DType type, const uint8_t* src, float* dst, int64_t n);

}  // namespace kvscope::ref
