#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")
// GCC 12's AVX-512 headers read _mm512_undefined_ps(), which -Wuninitialized flags (GCC bug
// 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/tile_shape.h"
#include "kernels/packed.h"
#include "kernels/ref/quantized.h"

namespace kvscope::avx512 {

namespace {

float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// Two blocks' 16 nibble bytes each as 64 unsigned bytes: block a's low then high nibbles, then b's.
__m512i unpack_nibbles(const uint8_t* qa, const uint8_t* qb) {
  const __m256i raw = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qb)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(qa)));
  const __m256i mask = _mm256_set1_epi8(0x0f);
  const __m256i lo = _mm256_and_si256(raw, mask);                        // a.lo | b.lo
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask);  // a.hi | b.hi
  // Reorder the 128-bit quarters to a.lo a.hi b.lo b.hi.
  const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  return _mm512_shuffle_i64x2(both, both, _MM_SHUFFLE(3, 1, 2, 0));
}

}  // namespace

float dot(const float* a, const float* b, int64_t n) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int k = 0; k < 4; ++k)
      acc[k] =
          _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16 * k), _mm512_loadu_ps(b + i + 16 * k), acc[k]);
  for (; i < n; i += 16) {
    // The tail is read under a mask, so no element past n is touched.
    const __mmask16 mask = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1);
    acc[0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i),
                             acc[0]);
  }
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

namespace {

// Two blocks per step: VNNI's dpbusd multiplies 64 unsigned weight bytes by 64 signed activation
// bytes and sums each group of four into 16 int32 lanes (8 per block), then one FMA applies both
// blocks' scales. An odd last block runs through the same code with the second half masked off.
//
// R weight rows against C activation rows: each weight block is unpacked once for all C rows.
// Every (row, activation) pair goes through exactly the same operations whatever R and C are, so
// a result never depends on the tile it was computed in (batch invariance).
template <int R, int C>
void dot_q8_tile_impl(DType type, const uint8_t* const* weights, const uint8_t* const* q8_rows,
                      int64_t n, float* out, int64_t out_stride) {
  const int block_bytes = dtype_info(type).block_bytes;
  const int quant_offset = type == DType::kQ4_1 ? 4 : 2;
  const int64_t blocks = n / kQ8Block;
  __m512 acc[R][C];
  float offsets[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      acc[r][c] = _mm512_setzero_ps();
      offsets[r][c] = 0.0f;
    }
  for (int64_t b = 0; b < blocks; b += 2) {
    const bool pair = b + 1 < blocks;
    __m512i xv[C];
    float xda[C], xdb[C], xsa[C], xsb[C];
    for (int c = 0; c < C; ++c) {
      xv[c] = _mm512_maskz_loadu_epi8(pair ? ~0ull : 0xffffffffull, q8_rows[c] + b * kQ8Block);
      xda[c] = q8_scales(q8_rows[c], n)[b];
      xdb[c] = pair ? q8_scales(q8_rows[c], n)[b + 1] : 0.0f;
      xsa[c] = q8_sums(q8_rows[c], n)[b];
      xsb[c] = pair ? q8_sums(q8_rows[c], n)[b + 1] : 0.0f;
    }
    for (int r = 0; r < R; ++r) {
      const uint8_t* wa = weights[r] + b * block_bytes;
      const uint8_t* wb = pair ? wa + block_bytes : wa;  // a lone block is paired with itself...
      __m512i wv;
      __mmask64 negative = 0;
      if (type == DType::kQ8_0) {
        const __m512i q = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wa + 2))),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 2)), 1);
        // dpbusd multiplies unsigned by signed bytes: magnitudes here, the signs moved onto x.
        negative = _mm512_movepi8_mask(q);
        wv = _mm512_abs_epi8(q);
      } else {
        wv = unpack_nibbles(wa + quant_offset, wb + quant_offset);
      }
      const float da = load_f16(wa), db = pair ? load_f16(wb) : 0.0f;  // ...whose scale is zero
      const float ma = type == DType::kQ4_0   ? -8.0f * da
                       : type == DType::kQ4_1 ? load_f16(wa + 2)
                                              : 0.0f;
      const float mb = !pair                  ? 0.0f
                       : type == DType::kQ4_0 ? -8.0f * db
                       : type == DType::kQ4_1 ? load_f16(wb + 2)
                                              : 0.0f;
      for (int c = 0; c < C; ++c) {
        const __m512i x = type == DType::kQ8_0
                              ? _mm512_mask_sub_epi8(xv[c], negative, _mm512_setzero_si512(), xv[c])
                              : xv[c];
        const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, x);
        const __m512 scales =
            _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(da * xda[c]), _mm512_set1_ps(db * xdb[c]));
        acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), scales, acc[r][c]);
        if (type != DType::kQ8_0) {
          offsets[r][c] += ma * xsa[c];
          if (pair) offsets[r][c] += mb * xsb[c];
        }
      }
    }
  }
  for (int c = 0; c < C; ++c)
    for (int r = 0; r < R; ++r)
      out[c * out_stride + r] = _mm512_reduce_add_ps(acc[r][c]) + offsets[r][c];
}

}  // namespace

float dot_q8(DType type, const uint8_t* weights, const uint8_t* q8_row, int64_t n) {
  float out = 0.0f;
  dot_q8_tile_impl<1, 1>(type, &weights, &q8_row, n, &out, 1);
  return out;
}

void dot_q8_tile(DType type, const uint8_t* const* weights, int nr, const uint8_t* const* q8_rows,
                 int nc, int64_t n, float* out, int64_t out_stride) {
  with_tile_shape<kQ8TileMax, kQ8TileMax>(nr, nc, [&]<int R, int C>() {
    dot_q8_tile_impl<R, C>(type, weights, q8_rows, n, out, out_stride);
  });
}

namespace {

// C activation rows against one packed group of 8 rows (kernels/packed.h), two of the layout's
// 32-byte column groups per 512-bit register: its low half holds group 2j's 4 columns of the 8
// rows, its high half group 2j+1's, and dpbusd against the matching activation bytes (each half
// its own 4, spread by one permute) sums them into 8 rows × 2 int32 lanes. The halves add up
// once per block, so every block's integer sum, and all that follows, is exactly the AVX2
// kernel's: bitwise equal to the scalar twin, whatever C.
// The two 256-bit halves of v added.
inline __m256i fold(__m512i v) {
  return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

template <PackedFormat F, int C>
void dot_packed_impl(const uint8_t* group, int64_t n, const uint8_t* const* q8_rows, int nr,
                     float* out, int64_t out_stride) {
  constexpr int block_bytes = F.block_bytes();
  // Dwords (activation bytes 4i..4i+3) 2j and 2j+1 spread over the low and the high half.
  alignas(64) static constexpr int32_t kSpread[4][16] = {
      {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
      {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5},
      {6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7}};
  __m512i pairs[4];
  for (int j = 0; j < 4; ++j) pairs[j] = _mm512_load_si512(kSpread[j]);
  const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const uint8_t* block = group + b * block_bytes;
    const uint8_t* quants = block + F.quants_at();
    for (int line = 0; line < block_bytes; line += 64)
      _mm_prefetch(
          reinterpret_cast<const char*>(block + kPackedPrefetchBlocks * block_bytes + line),
          _MM_HINT_T0);
    __m512i x[C];
    for (int c = 0; c < C; ++c)
      x[c] = _mm512_castsi256_si512(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8_rows[c] + b * kQ8Block)));
    __m512i sums[C];
    for (int c = 0; c < C; ++c) sums[c] = _mm512_setzero_si512();
    __m256i total[C];
    if constexpr (F.quants == PackedQuants::kSigned8) {
      // Column groups 2j, 2j+1 against activation dwords 2j, 2j+1; dpbusd multiplies unsigned by
      // signed bytes, so the weights' signs move onto the activations. Q6_K keeps columns 0-15
      // (j = 0, 1) and 16-31 (j = 2, 3) apart for their 8-bit scales.
      // Zeroed only so that GCC's -Wmaybe-uninitialized (TSan builds) sees every path set it.
      [[maybe_unused]] __m512i halves[C];
      for (int c = 0; c < C; ++c) halves[c] = _mm512_setzero_si512();
      for (int j = 0; j < 4; ++j) {
        if constexpr (F.sub_scales) {
          if (j == 2)
            for (int c = 0; c < C; ++c) {
              halves[c] = sums[c];
              sums[c] = _mm512_setzero_si512();
            }
        }
        const __m512i w = _mm512_loadu_si512(quants + 64 * j);
        const __mmask64 negative = _mm512_movepi8_mask(w);
        const __m512i magnitudes = _mm512_abs_epi8(w);
        for (int c = 0; c < C; ++c) {
          const __m512i xj = _mm512_permutexvar_epi32(pairs[j], x[c]);
          sums[c] = _mm512_dpbusd_epi32(
              sums[c], magnitudes, _mm512_mask_sub_epi8(xj, negative, _mm512_setzero_si512(), xj));
        }
      }
      if constexpr (F.sub_scales) {
        const auto scales_at = [&](int half) {
          return _mm256_cvtepi8_epi32(_mm_loadl_epi64(
              reinterpret_cast<const __m128i*>(block + F.sub_scales_at() + 8 * half)));
        };
        const __m256i sc0 = scales_at(0), sc1 = scales_at(1);
        for (int c = 0; c < C; ++c)
          total[c] = _mm256_add_epi32(_mm256_mullo_epi32(fold(halves[c]), sc0),
                                      _mm256_mullo_epi32(fold(sums[c]), sc1));
      } else {
        for (int c = 0; c < C; ++c) total[c] = fold(sums[c]);
      }
    } else {
      if constexpr (F.quants == PackedQuants::kUnsigned8) {
        for (int j = 0; j < 4; ++j) {
          const __m512i w = _mm512_loadu_si512(quants + 64 * j);
          for (int c = 0; c < C; ++c)
            sums[c] = _mm512_dpbusd_epi32(sums[c], w, _mm512_permutexvar_epi32(pairs[j], x[c]));
        }
      } else {
        // Nibble groups k = 2j, 2j+1: low nibbles against activation dwords 2j, 2j+1 (columns
        // 8j..8j+7), high nibbles against dwords 4+2j, 5+2j (columns 16+8j..).
        for (int j = 0; j < 2; ++j) {
          const __m512i raw = _mm512_loadu_si512(quants + 64 * j);
          const __m512i lo = _mm512_and_si512(raw, low_nibbles);
          const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low_nibbles);
          for (int c = 0; c < C; ++c) {
            sums[c] = _mm512_dpbusd_epi32(sums[c], lo, _mm512_permutexvar_epi32(pairs[j], x[c]));
            sums[c] =
                _mm512_dpbusd_epi32(sums[c], hi, _mm512_permutexvar_epi32(pairs[2 + j], x[c]));
          }
        }
      }
      for (int c = 0; c < C; ++c) total[c] = fold(sums[c]);
    }
    auto load_scales = [&](int offset) {
      if constexpr (F.f32_scales)
        return _mm256_loadu_ps(reinterpret_cast<const float*>(block + offset));
      else
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + offset)));
    };
    const __m256 d = load_scales(0);
    for (int c = 0; c < C; ++c) {
      const __m256 scale = _mm256_mul_ps(d, _mm256_set1_ps(q8_scales(q8_rows[c], n)[b]));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total[c]), scale, acc[c]);
      if constexpr (F.offset)
        acc[c] = _mm256_fmadd_ps(load_scales(F.offset_at()),
                                 _mm256_set1_ps(q8_sums(q8_rows[c], n)[b]), acc[c]);
    }
  }
  for (int c = 0; c < C; ++c) {
    float lanes[kPackedRows];
    _mm256_storeu_ps(lanes, acc[c]);
    std::memcpy(out + c * out_stride, lanes, sizeof(float) * static_cast<size_t>(nr));
  }
}

}  // namespace

void dot_packed(DType type, const uint8_t* group, int64_t n, const uint8_t* const* q8_rows, int nc,
                int nr, float* out, int64_t out_stride) {
  with_tile_shape<1, kPackedTileCols>(1, nc, [&]<int R, int C>() {
    switch (type) {
      case DType::kQ8_0:
      case DType::kQ5_0:
        return dot_packed_impl<kPackedQ8, C>(group, n, q8_rows, nr, out, out_stride);
      case DType::kQ4_K:
        return dot_packed_impl<kPackedQ4K, C>(group, n, q8_rows, nr, out, out_stride);
      case DType::kQ5_1:
        return dot_packed_impl<kPackedU8, C>(group, n, q8_rows, nr, out, out_stride);
      case DType::kQ5_K:
        return dot_packed_impl<kPackedU8K, C>(group, n, q8_rows, nr, out, out_stride);
      case DType::kQ6_K:
        return dot_packed_impl<kPackedQ6K, C>(group, n, q8_rows, nr, out, out_stride);
      default:  // Q4_0 and Q4_1 share one packed layout: Q4_0's offset -8 d is stored as a min
        return dot_packed_impl<kPackedQ4, C>(group, n, q8_rows, nr, out, out_stride);
    }
  });
}

// One block per step: 32 weights widened to 16 bits, dpwssd sums pairs into 16 int32 lanes.
float dot_q8_0_q16(const uint8_t* weights, const uint8_t* q16_row, int64_t n) {
  const auto* x = reinterpret_cast<const int16_t*>(q16_row);
  const float* xd = q16_scales(q16_row, n);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const uint8_t* block = weights + b * 34;
    const __m512i w =
        _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2)));
    const __m512i sums =
        _mm512_dpwssd_epi32(_mm512_setzero_si512(), w, _mm512_loadu_si512(x + b * kQ8Block));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_set1_ps(load_f16(block) * xd[b]), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

}  // namespace kvscope::avx512
