// The BF16 fast path's tile on AVX-512 with AVX512_BF16, which dispatch checks apart from the rest
// of AVX-512: vdpbf16ps is the definition (kernels/ref/bf16.h).
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")
// GCC 12's AVX-512 headers read _mm512_undefined_ps(), which -Wuninitialized flags (GCC bug
// 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/tile_shape.h"
#include "kernels/ref/bf16.h"

namespace kvscope::avx512 {

namespace {

template <int R, int C>
void dot_bf16_tile_impl(const uint16_t* const* weights, const uint16_t* const* x, int64_t n,
                        float* out, int64_t out_stride) {
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += kBf16Chunk) {
    __m512bh w[R];
    for (int r = 0; r < R; ++r) w[r] = (__m512bh)_mm512_loadu_si512(weights[r] + i);
    for (int c = 0; c < C; ++c) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(x[c] + i);
      for (int r = 0; r < R; ++r) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], w[r], xv);
    }
  }
  for (int c = 0; c < C; ++c)
    for (int r = 0; r < R; ++r) {
      const __m256 high = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][c]), 1));
      const __m256 sum8 = _mm256_add_ps(_mm512_castps512_ps256(acc[r][c]), high);
      const __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(sum8), _mm256_extractf128_ps(sum8, 1));
      const __m128 sum2 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
      out[c * out_stride + r] = _mm_cvtss_f32(_mm_add_ss(sum2, _mm_movehdup_ps(sum2)));
    }
}

}  // namespace

void dot_bf16_tile(const uint16_t* const* weights, int nr, const uint16_t* const* x, int nc,
                   int64_t n, float* out, int64_t out_stride) {
  with_tile_shape<kBf16TileRows, kBf16TileCols>(
      nr, nc, [&]<int R, int C>() { dot_bf16_tile_impl<R, C>(weights, x, n, out, out_stride); });
}

}  // namespace kvscope::avx512
