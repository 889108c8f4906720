#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/half.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/dot_tile.h"
#include "kernels/cpu/lanes.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/tile_shape.h"
#include "kernels/cpu/weighted_rows.h"
#include "kernels/packed.h"
#include "kernels/ref/bf16.h"
#include "kernels/ref/dequantize.h"
#include "kernels/ref/ops.h"
#include "kernels/ref/quantized.h"

namespace kvscope::avx2 {

namespace {

struct Avx2Tag {};
using Avx2Tile = DotTile<Avx2Tag, 1>;  // its horizontal_sum serves the other kernels here too

float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// 16 bytes of nibbles as 32 unsigned bytes: low nibbles (elements 0..15), then high ones.
__m256i unpack_nibbles(const uint8_t* q) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  const __m128i mask = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
}

}  // namespace

float dot(const float* a, const float* b, int64_t n) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k)
      acc[k] =
          _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8 * k), _mm256_loadu_ps(b + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8)
    acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc[0]);
  float sum = Avx2Tile::horizontal_sum(
      _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy(float* y, float a, const float* x, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

void widen_f16(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = _cvtsh_ss(src[i]);
}

void dequantize_row(DType type, const uint8_t* src, float* dst, int64_t n) {
  if (type == DType::kF16) return widen_f16(reinterpret_cast<const uint16_t*>(src), dst, n);
  if (type == DType::kQ8_0) {
    // d * q for 32 signed bytes a block, exactly as the scalar definition computes it.
    for (int64_t b = 0; b < n / 32; ++b, src += 34, dst += 32) {
      const __m256 d = _mm256_set1_ps(load_f16(src));
      for (int k = 0; k < 4; ++k) {
        const __m256i q = _mm256_cvtepi8_epi32(
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + 2 + 8 * k)));
        _mm256_storeu_ps(dst + 8 * k, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q)));
      }
    }
    return;
  }
  if (type != DType::kBF16) return ref::dequantize_row(type, src, dst, n);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i halves =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i)));
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(halves, 16)));
  }
  ref::dequantize_row(type, src + 2 * i, dst + i, n - i);
}

// Not inlined into score_rows: there the tile loop ran 3% slower in AVX2 prefill.
[[gnu::noinline]] void dot_tile(DType weight_type, const void* const* weights, int nr,
                                const float* const* x, int nc, int64_t n, float* out,
                                int64_t out_stride) {
  Avx2Tile::run(weight_type, weights, nr, x, nc, n, out, out_stride);
}

void quantize_row_q8(const float* x, uint8_t* out, int64_t n) {
  const auto [q, d, s, sums] = q8_row_parts(out, n);
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + b * kQ8Block + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[k]));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float scale = _mm_cvtss_f32(m4) / 127.0f;
    const __m256 inverse = _mm256_set1_ps(scale != 0.0f ? 1.0f / scale : 0.0f);
    __m256i ints[4];
    for (int k = 0; k < 4; ++k)
      ints[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], inverse),
                                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m256i sum32 =
        _mm256_add_epi32(_mm256_add_epi32(ints[0], ints[1]), _mm256_add_epi32(ints[2], ints[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum32), _mm256_extracti128_si256(sum32, 1));
    s4 = _mm_hadd_epi32(s4, s4);
    s4 = _mm_hadd_epi32(s4, s4);
    // Pack 32 ints to 32 bytes; packs interleave 128-bit lanes, the permute restores the order.
    const __m256i p16a = _mm256_packs_epi32(ints[0], ints[1]);
    const __m256i p16b = _mm256_packs_epi32(ints[2], ints[3]);
    __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * kQ8Block), p8);
    d[b] = scale;
    sums[b] = _mm_cvtsi128_si32(s4);
    s[b] = scale * static_cast<float>(sums[b]);
  }
}

namespace {

// R weight rows against C activation rows, one block per step: each weight block is unpacked
// once for all C rows. Every (row, activation) pair goes through exactly the same operations
// whatever R and C are, so a result never depends on its tile (batch invariance).
//
// The weight type is a template parameter so that each type's loop carries no branches.
template <DType type, int R, int C>
void dot_q8_tile_impl(const uint8_t* const* weights, const uint8_t* const* q8_rows, int64_t n,
                      float* out, int64_t out_stride) {
  constexpr int block_bytes = type == DType::kQ8_0 ? 34 : type == DType::kQ4_1 ? 20 : 18;
  constexpr int quant_offset = type == DType::kQ4_1 ? 4 : 2;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[R][C];
  float offsets[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      acc[r][c] = _mm256_setzero_ps();
      offsets[r][c] = 0.0f;
    }
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    __m256i xv[C];
    float xd[C], xs[C];
    for (int c = 0; c < C; ++c) {
      xv[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8_rows[c] + b * kQ8Block));
      xd[c] = q8_scales(q8_rows[c], n)[b];
      xs[c] = q8_sums(q8_rows[c], n)[b];
    }
    for (int r = 0; r < R; ++r) {
      const uint8_t* block = weights[r] + b * block_bytes;
      const float d = load_f16(block);
      const float m = type == DType::kQ4_0   ? -8.0f * d
                      : type == DType::kQ4_1 ? load_f16(block + 2)
                                             : 0.0f;
      // maddubs multiplies unsigned by signed bytes: for Q8_0, magnitudes here, q's sign moved onto
      // x.
      const __m256i q = type == DType::kQ8_0
                            ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2))
                            : unpack_nibbles(block + quant_offset);
      const __m256i wv = type == DType::kQ8_0 ? _mm256_sign_epi8(q, q) : q;
      for (int c = 0; c < C; ++c) {
        const __m256i x = type == DType::kQ8_0 ? _mm256_sign_epi8(xv[c], q) : xv[c];
        const __m256 sums =
            _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(wv, x), ones));
        acc[r][c] = _mm256_fmadd_ps(sums, _mm256_set1_ps(d * xd[c]), acc[r][c]);
        if constexpr (type != DType::kQ8_0) offsets[r][c] = std::fma(m, xs[c], offsets[r][c]);
      }
    }
  }
  for (int c = 0; c < C; ++c)
    for (int r = 0; r < R; ++r)
      out[c * out_stride + r] = Avx2Tile::horizontal_sum(acc[r][c]) + offsets[r][c];
}

}  // namespace

void dot_q8_tile(DType type, const uint8_t* const* weights, int nr, const uint8_t* const* q8_rows,
                 int nc, int64_t n, float* out, int64_t out_stride) {
  with_tile_shape<kQ8TileMax, kQ8TileMax>(nr, nc, [&]<int R, int C>() {
    switch (type) {
      case DType::kQ8_0:
        return dot_q8_tile_impl<DType::kQ8_0, R, C>(weights, q8_rows, n, out, out_stride);
      case DType::kQ4_0:
        return dot_q8_tile_impl<DType::kQ4_0, R, C>(weights, q8_rows, n, out, out_stride);
      default:
        return dot_q8_tile_impl<DType::kQ4_1, R, C>(weights, q8_rows, n, out, out_stride);
    }
  });
}

float dot_q8(DType type, const uint8_t* weights, const uint8_t* q8_row, int64_t n) {
  float out = 0.0f;
  dot_q8_tile(type, &weights, 1, &q8_row, 1, n, &out, 1);
  return out;
}

namespace {

// Ends GCC's freedom to reassociate integer adds at this point. Left free, it computed all of a
// block's 32 products first and spilled them to the stack to add them up as a tree. With that,
// and every loop of dot_packed_impl unrolled, the sums stay in registers: AVX2 prefill ran 10-16%
// faster (Zen 3, one thread).
inline void in_order(__m256i& v) { asm("" : "+x"(v)); }

// C activation rows against one packed group of 8 rows (kernels/packed.h). Per block and column
// group, one load of 8 rows' quants serves every activation row, which broadcasts 4 bytes:
// - nibbles: two maddubs per group; 16-bit lanes sum 16 products of at most 15 x 127 each, so they
//   cannot overflow, and widen to 32 bits once per block.
// - unsigned five bits (at most 31): two groups' maddubs sum in 16 bits (4 products of at most
//   31 x 128), then widen.
// - signed values (bytes, or five and six bits less their bias): maddubs multiplies unsigned by
//   signed bytes, so the weights' signs move onto the
//   activations; a pair of products reaches 2 x 128 x 127, so each group widens to 32 bits. Q6_K
//   sums columns 0-15 and 16-31 apart and weights them by their 8-bit scales in 32-bit integers.
// Integer sums are exact in any order, and the float steps are the scalar twin's, in its order.
template <PackedFormat F, int C>
void dot_packed_impl(const uint8_t* group, int64_t n, const PackedActivations& x, int nr,
                     float* out, int64_t out_stride) {
  constexpr int block_bytes = F.block_bytes();
  const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  constexpr int64_t kKBlocks = PackedFormat::kKBlock / kQ8Block;
  [[maybe_unused]] __m256 super_d = _mm256_setzero_ps(), super_min = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const uint8_t* block = group + F.block_at(n, b);
    const uint8_t* quants = block + F.quants_at();
    for (int line = 0; line < block_bytes; line += 64)
      _mm_prefetch(
          reinterpret_cast<const char*>(block + kPackedPrefetchBlocks * block_bytes + line),
          _MM_HINT_T0);
    auto load = [&](int offset) {
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + offset));
    };
    // The 8 rows' integer sums of block b with block b of each of the K q8 rows `rows`.
    const auto block_sums = [&]<int K>(const uint8_t* const* rows, __m256i* sums) {
      auto broadcast4 = [&](int c, int offset) {
        int32_t four;
        std::memcpy(&four, rows[c] + b * kQ8Block + offset, 4);
        return _mm256_set1_epi32(four);
      };
#pragma GCC unroll 8
      for (int c = 0; c < K; ++c) sums[c] = _mm256_setzero_si256();
      // Column group g's five- or six-bit values (kernels/packed.h), less the format's bias: its
      // nibbles, and its top bits moved to bits 4 and up of each byte (16-bit shifts; the mask
      // drops what crossed from the neighbouring byte).
      [[maybe_unused]] const auto wide_values = [&](int g) {
        constexpr int t = F.top_bits();
        const __m256i nibbles = load(32 * (g % 4));
        const __m256i low =
            _mm256_and_si256(g < 4 ? nibbles : _mm256_srli_epi16(nibbles, 4), low_nibbles);
        const __m256i line = load(128 + 32 * (t * g / 8));
        const int bit = t * g % 8;
        const __m256i top = _mm256_and_si256(
            bit < 4 ? _mm256_slli_epi16(line, 4 - bit) : _mm256_srli_epi16(line, bit - 4),
            _mm256_set1_epi8(static_cast<char>(((1 << t) - 1) << 4)));
        return _mm256_sub_epi8(_mm256_or_si256(low, top), _mm256_set1_epi8(F.bias));
      };
      if constexpr (F.is_signed()) {
        // Zeroed only so that GCC's -Wmaybe-uninitialized (TSan builds) sees every path set it.
        [[maybe_unused]] __m256i halves[K];
#pragma GCC unroll 8
        for (int c = 0; c < K; ++c) halves[c] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int g = 0; g < 8; ++g) {
          if constexpr (F.sub_scales) {
            if (g == 4)
#pragma GCC unroll 8
              for (int c = 0; c < K; ++c) {
                halves[c] = sums[c];
                sums[c] = _mm256_setzero_si256();
              }
          }
          const __m256i w = F.quants == PackedQuants::kSigned8 ? load(32 * g) : wide_values(g);
          const __m256i magnitudes = _mm256_sign_epi8(w, w);
#pragma GCC unroll 8
          for (int c = 0; c < K; ++c) {
            const __m256i signed_x = _mm256_sign_epi8(broadcast4(c, 4 * g), w);
            sums[c] = _mm256_add_epi32(
                sums[c], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitudes, signed_x), ones));
            in_order(sums[c]);
          }
        }
        if constexpr (F.sub_scales) {
          const auto scales_at = [&](int half) {
            return _mm256_cvtepi8_epi32(_mm_loadl_epi64(
                reinterpret_cast<const __m128i*>(block + F.sub_scales_at() + 8 * half)));
          };
          const __m256i sc0 = scales_at(0), sc1 = scales_at(1);
#pragma GCC unroll 8
          for (int c = 0; c < K; ++c)
            sums[c] = _mm256_add_epi32(_mm256_mullo_epi32(halves[c], sc0),
                                       _mm256_mullo_epi32(sums[c], sc1));
        }
      } else if constexpr (F.quants == PackedQuants::kFiveBits) {
#pragma GCC unroll 8
        for (int g = 0; g < 8; g += 2) {
          const __m256i w0 = wide_values(g), w1 = wide_values(g + 1);
#pragma GCC unroll 8
          for (int c = 0; c < K; ++c) {
            const __m256i pair =
                _mm256_add_epi16(_mm256_maddubs_epi16(w0, broadcast4(c, 4 * g)),
                                 _mm256_maddubs_epi16(w1, broadcast4(c, 4 * g + 4)));
            sums[c] = _mm256_add_epi32(sums[c], _mm256_madd_epi16(pair, ones));
            in_order(sums[c]);
          }
        }
      } else {
#pragma GCC unroll 8
        for (int k = 0; k < 4; ++k) {
          const __m256i raw = load(32 * k);
          const __m256i lo = _mm256_and_si256(raw, low_nibbles);
          const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low_nibbles);
#pragma GCC unroll 8
          for (int c = 0; c < K; ++c) {
            sums[c] = _mm256_add_epi16(sums[c], _mm256_maddubs_epi16(lo, broadcast4(c, 4 * k)));
            sums[c] =
                _mm256_add_epi16(sums[c], _mm256_maddubs_epi16(hi, broadcast4(c, 16 + 4 * k)));
            in_order(sums[c]);
          }
        }
#pragma GCC unroll 8
        for (int c = 0; c < K; ++c) sums[c] = _mm256_madd_epi16(sums[c], ones);
      }
    };
    const auto f16_lanes = [&](const uint8_t* p) {
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    };
    __m256 d, m = _mm256_setzero_ps();
    if constexpr (F.k_scales) {
      // d sc and -dmin min, exact in f32, as packed_row_scales forms them.
      if (b % kKBlocks == 0) {
        const uint8_t* header = group + F.k_header_at(b);
        super_d = f16_lanes(header);
        if constexpr (F.offset)
          super_min = _mm256_mul_ps(_mm256_set1_ps(-1.0f), f16_lanes(header + 2 * kPackedRows));
      }
      const auto ints = [&](int offset) {
        return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + offset))));
      };
      d = super_d;  // Q6_K's: its 8-bit scales went into the integer sums
      if constexpr (F.offset) {
        d = _mm256_mul_ps(super_d, ints(0));
        m = _mm256_mul_ps(super_min, ints(F.offset_at()));
      }
    } else {
      d = f16_lanes(block);
      if constexpr (F.offset) m = f16_lanes(block + F.offset_at());
    }
    // The integer sum of block b with the q8 row `row`, scaled, into acc[c].
    const auto add_scaled = [&](int c, const uint8_t* row, __m256i sum) {
      const __m256 scale = _mm256_mul_ps(d, _mm256_set1_ps(q8_scales(row, n)[b]));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), scale, acc[c]);
      if constexpr (F.offset)
        acc[c] = _mm256_fmadd_ps(m, _mm256_set1_ps(q8_sums(row, n)[b]), acc[c]);
    };
    __m256i sums[C];
    block_sums.template operator()<C>(x.rows, sums);
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) add_scaled(c, x.rows[c], sums[c]);
    // Most blocks are no row's outlier: one test of the mask's byte skips them. Unrolled, so that
    // acc[c] stays in a register (indexed at run time, the array went to the stack).
    if (x.errors != nullptr && x.outliers[b] >> x.shift != 0)
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c)
        if (x.is_outlier(c, b)) {
          __m256i error_sum;
          block_sums.template operator()<1>(x.errors + c, &error_sum);
          add_scaled(c, x.errors[c], error_sum);
        }
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) {
    float lanes[kPackedRows];
    _mm256_storeu_ps(lanes, acc[c]);
    std::memcpy(out + c * out_stride, lanes, sizeof(float) * static_cast<size_t>(nr));
  }
}

// A tile of up to two groups by kPackedTileCols activation rows, one group by 4 of them at a time.
template <PackedFormat F>
void dot_packed_groups(const uint8_t* groups, int64_t n, const PackedActivations& x, int nc, int nr,
                       float* out, int64_t out_stride) {
  constexpr int kCols = 4;
  for (int g = 0; g * kPackedRows < nr; ++g) {
    const uint8_t* group = groups + g * F.group_bytes(n);
    const int rows = std::min(kPackedRows, nr - g * kPackedRows);
    for (int c = 0; c < nc; c += kCols)
      with_tile_shape<1, kCols>(1, std::min(kCols, nc - c), [&]<int R, int C>() {
        dot_packed_impl<F, C>(group, n, x.from(c), rows, out + c * out_stride + g * kPackedRows,
                              out_stride);
      });
  }
}

}  // namespace

void dot_packed(DType type, const uint8_t* groups, int64_t n, const PackedActivations& x, int nc,
                int nr, float* out, int64_t out_stride) {
  with_packed_format(
      type, [&]<PackedFormat F>() { dot_packed_groups<F>(groups, n, x, nc, nr, out, out_stride); });
}

float dot_q8_0_q16(const uint8_t* weights, const uint8_t* q16_row, int64_t n) {
  const auto* x = reinterpret_cast<const int16_t*>(q16_row);
  const float* xd = q16_scales(q16_row, n);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const uint8_t* block = weights + b * 34;
    const __m128i* q = reinterpret_cast<const __m128i*>(block + 2);
    const __m256i* xv = reinterpret_cast<const __m256i*>(x + b * kQ8Block);
    const __m256i lo =
        _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(q)), _mm256_loadu_si256(xv));
    const __m256i hi =
        _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(q + 1)), _mm256_loadu_si256(xv + 1));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(lo, hi)),
                          _mm256_set1_ps(load_f16(block) * xd[b]), acc);
  }
  return Avx2Tile::horizontal_sum(acc);
}

void softmax(float* x, int64_t n, float scale) { softmax_lanes<Lanes8>(x, n, scale); }

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  rms_norm_lanes<Lanes8>(x, weight, out, n, eps);
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  swiglu_lanes<Lanes8>(gate, up, out, n);
}

namespace {

// The vectors of weighted_rows_by_tiles (kernels/cpu/weighted_rows.h).
struct Vectors {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V broadcast(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  // Q8_0: d · q, as the scalar definition computes it.
  template <DType T>
  static V load(const uint8_t* row, int64_t i) {
    if constexpr (T == DType::kF32) {
      return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
    } else if constexpr (T == DType::kF16) {
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row) + i / 8));
    } else {
      const uint8_t* block = row + i / kQ8Block * 34;
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 2 + i % kQ8Block));
      return _mm256_mul_ps(_mm256_set1_ps(load_f16(block)),
                           _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
    }
  }
};

}  // namespace

// Up to 6 heads by 16 columns at a time: 12 accumulators, 2 values and a weight in 16 registers.
void weighted_rows(DType type, const uint8_t* const* rows, int64_t count, const float* weights,
                   int64_t weight_stride, int group, int64_t n, float* out, int64_t out_stride) {
  if (n % 8 != 0)
    return ref::weighted_rows(type, rows, count, weights, weight_stride, group, n, out, out_stride);
  weighted_rows_by_tiles<Vectors, 6, 2>(type, rows, count, weights, weight_stride, group, n, out,
                                        out_stride);
}

// Up to kDotTileRows keys (Q8_0 ones widened first) by kDotTileCols queries at a time, through
// dot_tile: each key row is loaded once per tile, and every score is computed alike in any tile.
void score_rows(DType type, const uint8_t* const* keys, int64_t count, const float* queries,
                int group, int64_t n, float* out, int64_t out_stride) {
  thread_local std::vector<float> widened;
  const bool q8 = type == DType::kQ8_0;
  if (q8) widened.resize(static_cast<size_t>(kDotTileRows * n));
  for (int64_t j = 0; j < count; j += kDotTileRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kDotTileRows, count - j));
    const void* rows[kDotTileRows];
    for (int r = 0; r < nr; ++r) {
      rows[r] = keys[j + r];
      if (q8) {
        dequantize_row(DType::kQ8_0, keys[j + r], &widened[r * n], n);
        rows[r] = &widened[r * n];
      }
    }
    for (int g = 0; g < group; g += kDotTileCols) {
      const int nc = std::min(kDotTileCols, group - g);
      const float* x[kDotTileCols];
      for (int c = 0; c < nc; ++c) x[c] = queries + (g + c) * n;
      dot_tile(q8 ? DType::kF32 : type, rows, nr, x, nc, n, out + g * out_stride + j, out_stride);
    }
  }
}

void round_row_bf16(const float* x, uint16_t* out, int64_t n) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256 min_normal = _mm256_set1_ps(std::numeric_limits<float>::min());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    const __m256 subnormal = _mm256_cmp_ps(_mm256_andnot_ps(sign_bit, v), min_normal, _CMP_LT_OQ);
    v = _mm256_blendv_ps(v, _mm256_and_ps(v, sign_bit), subnormal);
    const __m256i bits = _mm256_castps_si256(v);
    const __m256i high = _mm256_srli_epi32(bits, 16);
    const __m256i bias =
        _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), _mm256_and_si256(high, _mm256_set1_epi32(1)));
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, bias), 16);
    const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    rounded = _mm256_blendv_epi8(rounded, _mm256_or_si256(high, _mm256_set1_epi32(0x40)),
                                 _mm256_castps_si256(nan));
    // Each value fits 16 bits, so the saturating pack keeps it.
    _mm_storeu_si128(
        reinterpret_cast<__m128i*>(out + i),
        _mm_packus_epi32(_mm256_castsi256_si128(rounded), _mm256_extracti128_si256(rounded, 1)));
  }
  ref::round_row_bf16(x + i, out + i, n - i);
}

}  // namespace kvscope::avx2
