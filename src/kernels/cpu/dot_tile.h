#pragma once
// The exact path's tile (Kernels::dot_tile) on 8-lane vectors, shared by avx2.cpp and avx512.cpp,
// each compiling it for its own target: Tag is a type of that file's own, so that the two
// instantiations stay apart. Values 8k .. 8k + 7 of a row go to chain k % Chains of its
// accumulators; at the end the chains are added in order, then the 8 lanes as a tree, then the
// values past the last multiple of 8 one FMA at a time. Every pair goes through the same
// operations whatever the tile's shape, so each instruction set's results are batch-invariant;
// AVX2 runs one chain, AVX-512 (with twice the registers) two, so that a single row's FMAs do not
// wait on each other.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "core/dtype.h"
#include "core/half.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/tile_shape.h"

namespace kvscope {

template <class Tag, int Chains>
struct DotTile {
  // BF16 weights, told apart from F16 ones by type; widening is a shift, exact.
  struct Bf16 {
    uint16_t bits;
  };

  static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
  static __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static __m256 load8(const Bf16* p) {
    const __m256i halves =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(halves, 16));
  }
  static float load1(const float* p) { return *p; }
  static float load1(const uint16_t* p) { return _cvtsh_ss(*p); }
  static float load1(const Bf16* p) { return bf16_to_f32(p->bits); }

  static float horizontal_sum(__m256 v) {
    const __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 sum2 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
    return _mm_cvtss_f32(_mm_add_ss(sum2, _mm_movehdup_ps(sum2)));
  }

  // horizontal_sum of four vectors at once, each lane's additions paired as there (so the same
  // bits): {sum(a), sum(b), sum(c), sum(d)}.
  static __m128 horizontal_sums(__m256 a, __m256 b, __m256 c, __m256 d) {
    // Halves added: a's in the low half of ac, c's in the high one; b's and d's in bd.
    const __m256 ac =
        _mm256_add_ps(_mm256_permute2f128_ps(a, c, 0x20), _mm256_permute2f128_ps(a, c, 0x31));
    const __m256 bd =
        _mm256_add_ps(_mm256_permute2f128_ps(b, d, 0x20), _mm256_permute2f128_ps(b, d, 0x31));
    // Lanes 0 + 2 and 1 + 3 of each: {a, a, b, b | c, c, d, d}.
    const __m256 pairs = _mm256_add_ps(_mm256_shuffle_ps(ac, bd, _MM_SHUFFLE(1, 0, 1, 0)),
                                       _mm256_shuffle_ps(ac, bd, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 sums = _mm256_hadd_ps(pairs, pairs);  // {a, b, a, b | c, d, c, d}
    return _mm_shuffle_ps(_mm256_castps256_ps128(sums), _mm256_extractf128_ps(sums, 1),
                          _MM_SHUFFLE(1, 0, 1, 0));
  }

  // R weight rows against C activation rows: each weight vector is loaded (and widened) once
  // for C rows and each activation vector once for R rows.
  template <typename W, int R, int C>
  static void tile(const void* const* weights, const float* const* x, int64_t n, float* out,
                   int64_t out_stride) {
    const W* w[R];
    for (int r = 0; r < R; ++r) w[r] = static_cast<const W*>(weights[r]);
    __m256 acc[Chains][R][C];
    for (int k = 0; k < Chains; ++k)
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[k][r][c] = _mm256_setzero_ps();
    // The activations in registers, one weight vector at a time: R C + C + 1 registers, which
    // the 4 x 3 tile's 12 accumulators fit into on AVX2 (with R weight vectors they spilled).
    const auto step = [&](int k, int64_t i) {
      __m256 xv[C];
      for (int c = 0; c < C; ++c) xv[c] = _mm256_loadu_ps(x[c] + i);
      for (int r = 0; r < R; ++r) {
        const __m256 wv = load8(w[r] + i);
        for (int c = 0; c < C; ++c) acc[k][r][c] = _mm256_fmadd_ps(wv, xv[c], acc[k][r][c]);
      }
    };
    int64_t i = 0;
    for (; i + 8 * Chains <= n; i += 8 * Chains)
      for (int k = 0; k < Chains; ++k) step(k, i + 8 * k);
    for (int k = 0; i + 8 <= n; ++k, i += 8) step(k, i);
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c)
        for (int k = 1; k < Chains; ++k) acc[0][r][c] = _mm256_add_ps(acc[0][r][c], acc[k][r][c]);
    if constexpr (R == 4) {  // a whole tile's rows are adjacent in out: reduced together
      if (i == n) {
        for (int c = 0; c < C; ++c)
          _mm_storeu_ps(out + c * out_stride,
                        horizontal_sums(acc[0][0][c], acc[0][1][c], acc[0][2][c], acc[0][3][c]));
        return;
      }
    }
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < R; ++r) {
        float sum = horizontal_sum(acc[0][r][c]);
        for (int64_t j = i; j < n; ++j) sum = std::fma(load1(w[r] + j), x[c][j], sum);
        out[c * out_stride + r] = sum;
      }
  }

  static void run(DType weight_type, const void* const* weights, int nr, const float* const* x,
                  int nc, int64_t n, float* out, int64_t out_stride) {
    with_tile_shape<kDotTileRows, kDotTileCols>(nr, nc, [&]<int R, int C>() {
      if (weight_type == DType::kF16)
        tile<uint16_t, R, C>(weights, x, n, out, out_stride);
      else if (weight_type == DType::kBF16)
        tile<Bf16, R, C>(weights, x, n, out, out_stride);
      else
        tile<float, R, C>(weights, x, n, out, out_stride);
    });
  }
};

}  // namespace kvscope
