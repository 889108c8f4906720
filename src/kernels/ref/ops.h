#pragma once
// Scalar definitions of the f32 operations of a transformer forward pass. Each one reduces in a
// fixed order, so its result for one row never depends on how many rows are processed together.
#include <cstdint>

#include "core/dtype.h"

namespace kvscope::ref {

float dot(const float* a, const float* b, int64_t n);
// out[c * out_stride + r] = dot(weight row r, x row c) for up to kDotTileRows F32, F16 or BF16
// weight rows (`weight_type`) against up to kDotTileCols f32 rows: the exact path's matmul.
void dot_tile(DType weight_type, const void* const* weights, int nr, const float* const* x, int nc,
              int64_t n, float* out, int64_t out_stride);
// y += a * x
void axpy(float* y, float a, const float* x, int64_t n);
// IEEE half values to f32.
void widen_f16(const uint16_t* src, float* dst, int64_t n);
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);
void layer_norm(const float* x, const float* weight, const float* bias, float* out, int64_t n,
                float eps);
// In place over x[0..n): x = scale · x, then x = exp(x - max) / sum.
void softmax(float* x, int64_t n, float scale);
// out[g * out_stride + j] = dot(query g, keys[j]) for j < count and g < group, the queries adjacent
// rows of n values, the keys read as stored (F32, F16, or Q8_0 when n is a multiple of 32):
// attention's scores.
void score_rows(DType type, const uint8_t* const* keys, int64_t count, const float* queries,
                int group, int64_t n, float* out, int64_t out_stride);
// A prompt's keys laid out for scoring by many queries: out[i * out_stride + j] = value i of key j
// for i < n and j < count, as score_rows reads them; out_stride ≥ count rounded up to 16.
void transpose_keys(DType type, const uint8_t* const* keys, int64_t count, int64_t n, float* out,
                    int64_t out_stride);
// score_rows of keys laid out by transpose_keys (keys_t: the first key's column): the same bits.
void score_transposed(const float* keys_t, int64_t stride, int64_t count, const float* queries,
                      int group, int64_t n, float* out, int64_t out_stride);
// out[g * out_stride + i] = Σ_j weights[g * weight_stride + j] · rows[j][i] for i < n and g <
// group, the sum taken in order j = 0 .. count-1 from zero: attention's weighted sum of value rows,
// read as stored (F32, F16, or Q8_0 when n is a multiple of 32).
void weighted_rows(DType type, const uint8_t* const* rows, int64_t count, const float* weights,
                   int64_t weight_stride, int group, int64_t n, float* out, int64_t out_stride);
// out[i] = silu(gate[i]) * up[i]
void swiglu(const float* gate, const float* up, float* out, int64_t n);
// In place, GPT-2's tanh approximation.
void gelu_tanh(float* x, int64_t n);
// Rotates `n_heads` heads of `head_dim` values for one position. Pairs are neighbours
// (i, i+1), or (i, i + rope_dims/2) in NeoX order. Pair i turns at base^(-2i / rope_dims) per
// position, divided by freq_factors[i] when given (rope_dims / 2 of them: Llama 3's scaling,
// Phi-3's longrope); cos and sin are multiplied by mscale (longrope's attention factor).
void rope(float* x, int n_heads, int head_dim, int rope_dims, float position, float base, bool neox,
          const float* freq_factors = nullptr, float mscale = 1.0f);
// rope in two steps, so that one position's angles serve several rows: cos_sin[2i], cos_sin[2i+1]
// are pair i's cos and sin (rope_dims values), then rope_turn rotates the heads by them.
void rope_angles(int rope_dims, float position, float base, const float* freq_factors, float mscale,
                 float* cos_sin);
void rope_turn(float* x, int n_heads, int head_dim, int rope_dims, bool neox, const float* cos_sin);
// In place, the orthonormal Walsh-Hadamard transform H / sqrt(block) of each run of `block`
// values (a power of two) in x[0..n). It is its own inverse and keeps dot products, so a query
// and a key turned alike score as before, while an outlier is spread over the whole run.
void hadamard(float* x, int64_t n, int block);

}  // namespace kvscope::ref
