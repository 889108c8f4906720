#pragma once
// SIMD kernels, each compiled for its instruction set in its own file and only called after
// dispatch.cpp has checked that the CPU supports it. Their scalar twins are in kernels/ref.
#include <cstdint>

#include "core/dtype.h"
#include "kernels/ref/quantized.h"

namespace kvscope::avx2 {
float dot(const float* a, const float* b, int64_t n);
void axpy(float* y, float a, const float* x, int64_t n);
void widen_f16(const uint16_t* src, float* dst, int64_t n);
// F16 and BF16 rows with SIMD conversions; the other types through the scalar definitions.
void dequantize_row(DType type, const uint8_t* src, float* dst, int64_t n);
void dot_tile(DType weight_type, const void* const* weights, int nr, const float* const* x, int nc,
              int64_t n, float* out, int64_t out_stride);
void quantize_row_q8(const float* x, uint8_t* out, int64_t n);
float dot_q8(DType type, const uint8_t* weights, const uint8_t* q8_row, int64_t n);
void dot_q8_tile(DType type, const uint8_t* const* weights, int nr, const uint8_t* const* q8_rows,
                 int nc, int64_t n, float* out, int64_t out_stride);
float dot_q8_0_q16(const uint8_t* weights, const uint8_t* q16_row, int64_t n);
void dot_packed(DType type, const uint8_t* group, int64_t n, const PackedActivations& x, int nc,
                int nr, float* out, int64_t out_stride);
void round_row_bf16(const float* x, uint16_t* out, int64_t n);
void softmax(float* x, int64_t n, float scale);
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void weighted_rows(DType type, const uint8_t* const* rows, int64_t count, const float* weights,
                   int64_t weight_stride, int group, int64_t n, float* out, int64_t out_stride);
void score_rows(DType type, const uint8_t* const* keys, int64_t count, const float* queries,
                int group, int64_t n, float* out, int64_t out_stride);
}  // namespace kvscope::avx2

namespace kvscope::avx512 {
float dot(const float* a, const float* b, int64_t n);
void quantize_row_q8(const float* x, uint8_t* out, int64_t n);
void dot_tile(DType weight_type, const void* const* weights, int nr, const float* const* x, int nc,
              int64_t n, float* out, int64_t out_stride);
float dot_q8(DType type, const uint8_t* weights, const uint8_t* q8_row, int64_t n);
void dot_q8_tile(DType type, const uint8_t* const* weights, int nr, const uint8_t* const* q8_rows,
                 int nc, int64_t n, float* out, int64_t out_stride);
float dot_q8_0_q16(const uint8_t* weights, const uint8_t* q16_row, int64_t n);
void dot_packed(DType type, const uint8_t* group, int64_t n, const PackedActivations& x, int nc,
                int nr, float* out, int64_t out_stride);
// Only where the CPU has AVX512_BF16 too.
void dot_bf16_tile(const uint16_t* const* weights, int nr, const uint16_t* const* x, int nc,
                   int64_t n, float* out, int64_t out_stride);
void softmax(float* x, int64_t n, float scale);
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void weighted_rows(DType type, const uint8_t* const* rows, int64_t count, const float* weights,
                   int64_t weight_stride, int group, int64_t n, float* out, int64_t out_stride);
void transpose_keys(DType type, const uint8_t* const* keys, int64_t count, int64_t n, float* out,
                    int64_t out_stride);
void score_transposed(const float* keys_t, int64_t stride, int64_t count, const float* queries,
                      int group, int64_t n, float* out, int64_t out_stride);
}  // namespace kvscope::avx512
