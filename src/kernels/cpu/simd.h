#pragma once
// SIMD kernels, each compiled for its instruction set in its own file and only called after
// dispatch.cpp has checked that the CPU supports it. Their scalar twins are in kernels/ref.
#include <cstdint>

#include "core/dtype.h"

namespace kvscope::avx2 {
float dot(const float* a, const float* b, int64_t n);
void quantize_row_q8(const float* x, uint8_t* out, int64_t n);
float dot_q8(DType type, const uint8_t* weights, const uint8_t* q8_row, int64_t n);
}  // namespace kvscope::avx2

namespace kvscope::avx512 {
float dot(const float* a, const float* b, int64_t n);
float dot_q8(DType type, const uint8_t* weights, const uint8_t* q8_row, int64_t n);
}  // namespace kvscope::avx512
