#pragma once
// The fast path for BF16 weights: activations rounded to BF16, then the products of two BF16
// values (exact in f32) summed as AVX-512's BF16 dot instruction (vdpbf16ps) sums them. 16 f32
// lanes: for each 32 values in turn, lane j adds product 2j + 1, then product 2j, each sum rounded
// to nearest even with subnormal weights and sums flushed to zero. The 16 lanes are then added
// as a tree: lanes j and j + 8, then j and j + 4, then j and j + 2, then the last two. Each
// element is computed alone, so a row's result is the same alone or in any batch.
#include <cstddef>
#include <cstdint>

namespace kvscope {

constexpr int kBf16Chunk = 32;

// A rounded activation row, rounded up to 64 bytes so that every row starts on a cache line.
inline size_t bf16_row_bytes(int64_t n) { return (2 * static_cast<size_t>(n) + 63) / 64 * 64; }

namespace ref {

// x[0..n) to BF16, to nearest even; subnormal inputs become zeros of their sign, NaN stays NaN.
void round_row_bf16(const float* x, uint16_t* out, int64_t n);
// nr BF16 weight rows against nc rounded activation rows, n a multiple of kBf16Chunk:
// out[c * out_stride + r].
void dot_bf16_tile(const uint16_t* const* weights, int nr, const uint16_t* const* x, int nc,
                   int64_t n, float* out, int64_t out_stride);

}  // namespace ref
}  // namespace kvscope
