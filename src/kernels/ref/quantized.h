#pragma once
// The fast path's arithmetic: activations quantized to 8 bits in blocks of 32 (as llama.cpp's
// q8_1), multiplied against quantized weight blocks in integers, scaled once per block.
//
// A quantized activation row of n values is laid out as
//   q[n] (int8) | d[n/32] (f32 scale) | s[n/32] (f32: d × the block's sum of q) | that sum[n/32]
//   (int32)
// so that the int8 values of consecutive blocks are contiguous for wide loads.
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace kvscope {

constexpr int kQ8Block = 32;

constexpr size_t q8_row_bytes(int64_t n) {
  // Rounded up to 64 bytes so every row starts on a cache line.
  const size_t bytes = static_cast<size_t>(n) + 12 * static_cast<size_t>(n / kQ8Block);
  return (bytes + 63) / 64 * 64;
}
// The parts of a q8 row: values, then per block the scale, the scale times the integer sum, and the
// integer sum (which kernels of unsigned weights less a bias need).
struct Q8RowParts {
  int8_t* values;
  float* scales;
  float* sums;
  int32_t* int_sums;
};
inline Q8RowParts q8_row_parts(uint8_t* row, int64_t n) {
  auto* scales = reinterpret_cast<float*>(row + n);
  float* sums = scales + n / kQ8Block;
  return {reinterpret_cast<int8_t*>(row), scales, sums,
          reinterpret_cast<int32_t*>(sums + n / kQ8Block)};
}
// Read-only views of the same parts.
inline const float* q8_scales(const uint8_t* row, int64_t n) {
  return q8_row_parts(const_cast<uint8_t*>(row), n).scales;
}
inline const float* q8_sums(const uint8_t* row, int64_t n) {
  return q8_row_parts(const_cast<uint8_t*>(row), n).sums;
}
inline const int32_t* q8_int_sums(const uint8_t* row, int64_t n) {
  return q8_row_parts(const_cast<uint8_t*>(row), n).int_sums;
}

// Up to 8 q8 activation rows for a packed product, and where `errors` is set, their rounding errors
// (q8 rows too): bit shift + c of outliers[b] marks block b of errors[c] to be multiplied as well
// (the fast path's outlier blocks, kernels/matmul.cpp).
struct PackedActivations {
  const uint8_t* const* rows = nullptr;
  const uint8_t* const* errors = nullptr;
  const uint8_t* outliers = nullptr;  // a byte per block of 32 columns
  int shift = 0;

  // Rows c0.. of these.
  PackedActivations from(int c0) const {
    return {rows + c0, errors != nullptr ? errors + c0 : nullptr, outliers, shift + c0};
  }
  bool is_outlier(int c, int64_t b) const {
    return errors != nullptr && (outliers[b] >> (shift + c) & 1) != 0;
  }
};

// Whether weights of this type have an integer dot product with q8 activations.
bool has_q8_dot(DType type);

// 16-bit activations for the output head, where 8 bits would dominate the fast path's error:
//   q[n] (int16) | d[n/32] (f32 scale: max|x| / 32767)
// Only Q8_0 weights have a q16 dot product.
inline size_t q16_row_bytes(int64_t n) {
  const size_t bytes = 2 * static_cast<size_t>(n) + 4 * static_cast<size_t>(n / kQ8Block);
  return (bytes + 63) / 64 * 64;
}
inline const float* q16_scales(const uint8_t* row, int64_t n) {
  return reinterpret_cast<const float*>(row + 2 * n);
}

namespace ref {

// Quantizes x[0..n) (n a multiple of 32) into `out` (q8_row_bytes(n), 4-byte aligned): per block,
// d = max|x| / 127 and q = round(x / d).
void quantize_row_q8(const float* x, uint8_t* out, int64_t n);
// The values a quantized activation row stands for: q × d.
void dequantize_row_q8(const uint8_t* q8_row, float* out, int64_t n);
// dot(weight row, activation row) for a weight type with has_q8_dot.
float dot_q8(DType type, const uint8_t* weights, const uint8_t* q8_row, int64_t n);

// The first nr rows of consecutive packed groups of 8 rows of `type` (kernels/packed.h) against nc
// activation rows: out[c * out_stride + r]. Per row and block, the integer sum (Q6_K: the sum
// of each half of the block times its 8-bit scale, in integers) is scaled by d x_d and then any
// offset added, each with one fused multiply-add, in block order; where an outlier block of the
// row is marked, its rounding error's product in that block follows the row's own the same way.
void dot_packed(DType type, const uint8_t* groups, int64_t n, const PackedActivations& x, int nc,
                int nr, float* out, int64_t out_stride);

void quantize_row_q16(const float* x, uint8_t* out, int64_t n);
// x[0..n) (n a multiple of 32) as GGML's Q8_0 blocks, llama.cpp's rounding: per 32 values an f16
// scale d = max|x| / 127 and the signed bytes round(x / d). The KV cache's q8_0 storage.
void quantize_row_q8_0(const float* x, uint8_t* out, int64_t n);
// dot(Q8_0 weight row, q16 activation row).
float dot_q8_0_q16(const uint8_t* weights, const uint8_t* q16_row, int64_t n);

}  // namespace ref
}  // namespace kvscope
