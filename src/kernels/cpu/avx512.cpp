#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")
// GCC 12's AVX-512 headers read _mm512_undefined_ps(), which -Wuninitialized flags (GCC bug
// 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/dot_tile.h"
#include "kernels/cpu/lanes.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/tile_shape.h"
#include "kernels/cpu/weighted_rows.h"
#include "kernels/packed.h"
#include "kernels/ref/ops.h"
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

// A block of 32 in two vectors: the same scale, rounding and integer sum as the scalar twin.
void quantize_row_q8(const float* x, uint8_t* out, int64_t n) {
  const auto [q, d, s, sums] = q8_row_parts(out, n);
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const __m512 lo = _mm512_loadu_ps(x + b * kQ8Block),
                 hi = _mm512_loadu_ps(x + b * kQ8Block + 16);
    const float scale =
        _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi))) / 127.0f;
    const __m512 inverse = _mm512_set1_ps(scale != 0.0f ? 1.0f / scale : 0.0f);
    constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const __m512i ints_lo = _mm512_cvt_roundps_epi32(_mm512_mul_ps(lo, inverse), kNearest);
    const __m512i ints_hi = _mm512_cvt_roundps_epi32(_mm512_mul_ps(hi, inverse), kNearest);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * kQ8Block), _mm512_cvtsepi32_epi8(ints_lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * kQ8Block + 16),
                     _mm512_cvtsepi32_epi8(ints_hi));
    d[b] = scale;
    sums[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(ints_lo, ints_hi));
    s[b] = scale * static_cast<float>(sums[b]);
  }
}

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

// C activation rows against two packed groups at once, 16 rows (kernels/packed.h): the same
// 32-byte column group of both groups' blocks fills one 512-bit register, rows 0-7 in its low
// half and rows 8-15 in its high one, and dpbusd against 4 broadcast activation bytes sums all 16
// rows' products of those 4 columns. Each weight register serves all C activation rows. Per row
// and block the integer sum, the scaling by d x_d and the offset m x_sum follow the scalar twin's
// order, so every result is its bits, whatever the tile.
template <PackedFormat F, int C>
void dot_packed_impl(const uint8_t* low, int64_t n, const PackedActivations& x, int nr, float* out,
                     int64_t out_stride) {
  // The format is known here, so the second group's place costs no call per tile.
  const uint8_t* high = nr > kPackedRows ? low + F.group_bytes(n) : low;
  constexpr int block_bytes = F.block_bytes();
  // Signed weights go into dpbusd unsigned, offset by kBias (Q8_0's bytes by 128, flipping their
  // top bit; Q5_0's five bits as stored), and kBias times the activation block's integer sum comes
  // off the integer total: the same integers, with no sign moved onto each activation. Q6_K's two
  // halves have scales of their own, so it moves its signs.
  constexpr bool kSigned = F.is_signed() && F.sub_scales;
  constexpr int kBias = !F.is_signed() || kSigned            ? 0
                        : F.quants == PackedQuants::kSigned8 ? 128
                                                             : F.bias;
  constexpr int64_t kKBlocks = PackedFormat::kKBlock / kQ8Block;
  __m512 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
  [[maybe_unused]] __m512 super_d = _mm512_setzero_ps(), super_min = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const uint8_t* lo = low + F.block_at(n, b);
    const uint8_t* hi = high + F.block_at(n, b);
    for (int line = 0; line < block_bytes; line += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(lo + kPackedPrefetchBlocks * block_bytes + line),
                   _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(hi + kPackedPrefetchBlocks * block_bytes + line),
                   _MM_HINT_T0);
    }
    const auto both = [&](int offset) {
      return _mm512_inserti64x4(
          _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo + offset))),
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi + offset)), 1);
    };
    // w[g]: 16 rows' values of columns 4g..4g+3, against activation dword g.
    __m512i w[8];
    [[maybe_unused]] __mmask64 negative[8];
    if constexpr (F.quants != PackedQuants::kSigned8) {
      const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
      for (int j = 0; j < 4; ++j) {
        const __m512i raw = both(F.quants_at() + 32 * j);
        w[j] = _mm512_and_si512(raw, low_nibbles);
        w[4 + j] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low_nibbles);
      }
    }
    if constexpr (F.top_bits() > 0) {
      // Each group's top bits moved to bits 4 and up of each byte (16-bit shifts; the mask drops
      // what crossed from the neighbouring byte), then the value less the format's bias.
      constexpr int t = F.top_bits();
      const __m512i top_mask = _mm512_set1_epi8(static_cast<char>(((1 << t) - 1) << 4));
      for (int g = 0; g < 8; ++g) {
        const __m512i line = both(F.quants_at() + 128 + 32 * (t * g / 8));
        const int bit = t * g % 8;
        const __m512i top = _mm512_and_si512(
            bit < 4 ? _mm512_slli_epi16(line, 4 - bit) : _mm512_srli_epi16(line, bit - 4),
            top_mask);
        w[g] = _mm512_or_si512(w[g], top);
        if constexpr (kSigned) w[g] = _mm512_sub_epi8(w[g], _mm512_set1_epi8(F.bias));
      }
    }
    if constexpr (F.quants == PackedQuants::kSigned8)
      for (int g = 0; g < 8; ++g)
        w[g] = _mm512_xor_si512(both(F.quants_at() + 32 * g), _mm512_set1_epi8(-128));
    if constexpr (kSigned)
      for (int g = 0; g < 8; ++g) {
        // dpbusd multiplies unsigned by signed bytes: magnitudes here, signs onto the activations.
        negative[g] = _mm512_movepi8_mask(w[g]);
        w[g] = _mm512_abs_epi8(w[g]);
      }
    const auto f16_lanes = [&](const uint8_t* l, const uint8_t* h) {
      return _mm512_cvtph_ps(
          _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)),
                           _mm_loadu_si128(reinterpret_cast<const __m128i*>(l))));
    };
    __m512 d, m = _mm512_setzero_ps();
    if constexpr (F.k_scales) {
      // d sc and -dmin min, exact in f32, as packed_row_scales forms them.
      if (b % kKBlocks == 0) {
        const int64_t header = F.k_header_at(b);
        super_d = f16_lanes(low + header, high + header);
        if constexpr (F.offset)
          super_min = _mm512_mul_ps(
              _mm512_set1_ps(-1.0f),
              f16_lanes(low + header + 2 * kPackedRows, high + header + 2 * kPackedRows));
      }
      const auto ints = [&](int offset) {
        int64_t l, h;
        std::memcpy(&l, lo + offset, 8);
        std::memcpy(&h, hi + offset, 8);
        return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_set_epi64x(h, l)));
      };
      d = super_d;  // Q6_K's: its 8-bit scales go into the integer sums
      if constexpr (F.offset) {
        d = _mm512_mul_ps(super_d, ints(0));
        m = _mm512_mul_ps(super_min, ints(F.offset_at()));
      }
    } else {
      d = f16_lanes(lo, hi);
      if constexpr (F.offset) m = f16_lanes(lo + F.offset_at(), hi + F.offset_at());
    }
    // Q6_K: each row's 8-bit scales of columns 0-15 and of 16-31.
    [[maybe_unused]] __m512i sc[2];
    if constexpr (F.sub_scales)
      for (int half = 0; half < 2; ++half) {
        int64_t l, h;
        std::memcpy(&l, lo + F.sub_scales_at() + 8 * half, 8);
        std::memcpy(&h, hi + F.sub_scales_at() + 8 * half, 8);
        sc[half] = _mm512_cvtepi8_epi32(_mm_set_epi64x(h, l));
      }
    // The 16 rows' block b times block b of the q8 row `row`, into `into`.
    const auto add_product = [&](__m512& into, const uint8_t* row) {
      const uint8_t* values = row + b * kQ8Block;
      __m512i sums[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
      for (int g = 0; g < 8; ++g) {
        int32_t dword;
        std::memcpy(&dword, values + 4 * g, 4);
        __m512i xg = _mm512_set1_epi32(dword);
        if constexpr (kSigned)
          xg = _mm512_mask_sub_epi8(xg, negative[g], _mm512_setzero_si512(), xg);
        // Two chains, so that the products' latency overlaps; Q6_K's halves are its two scales'.
        sums[g / 4] = _mm512_dpbusd_epi32(sums[g / 4], w[g], xg);
      }
      __m512i total;
      if constexpr (F.sub_scales)
        total = _mm512_add_epi32(_mm512_mullo_epi32(sums[0], sc[0]),
                                 _mm512_mullo_epi32(sums[1], sc[1]));
      else
        total = _mm512_add_epi32(sums[0], sums[1]);
      if constexpr (kBias != 0)
        total = _mm512_sub_epi32(total, _mm512_set1_epi32(kBias * q8_int_sums(row, n)[b]));
      const __m512 scale = _mm512_mul_ps(d, _mm512_set1_ps(q8_scales(row, n)[b]));
      into = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), scale, into);
      if constexpr (F.offset) into = _mm512_fmadd_ps(m, _mm512_set1_ps(q8_sums(row, n)[b]), into);
    };
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) add_product(acc[c], x.rows[c]);
    // Most blocks are no row's outlier: one test of the mask's byte skips them. Unrolled, so that
    // acc[c] stays in a register (indexed at run time, the array went to the stack).
    if (x.errors != nullptr && x.outliers[b] >> x.shift != 0)
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c)
        if (x.is_outlier(c, b)) add_product(acc[c], x.errors[c]);
  }
  const auto rows = static_cast<__mmask16>((1u << nr) - 1);
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(out + c * out_stride, rows, acc[c]);
}

}  // namespace

void dot_packed(DType type, const uint8_t* groups, int64_t n, const PackedActivations& x, int nc,
                int nr, float* out, int64_t out_stride) {
  // One token, memory-bound, reads the two groups one after the other (reading them side by side,
  // two streams a tile, made one-sequence decode a third slower on a Zen 5), 8 rows at a time
  // through the 256-bit kernel: 16 lanes holding one group twice did twice the unpacking for the
  // same bytes. Every kernel's bits are the scalar twin's, so a row's bits are the same either way.
  if (nc == 1) return avx2::dot_packed(type, groups, n, x, nc, nr, out, out_stride);
  with_packed_format(type, [&]<PackedFormat F>() {
    with_tile_shape<1, kPackedTileCols>(
        1, nc, [&]<int R, int C>() { dot_packed_impl<F, C>(groups, n, x, nr, out, out_stride); });
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

void softmax(float* x, int64_t n, float scale) { softmax_lanes<Lanes16>(x, n, scale); }

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  rms_norm_lanes<Lanes16>(x, weight, out, n, eps);
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  swiglu_lanes<Lanes16>(gate, up, out, n);
}

namespace {

// The vectors of weighted_rows_by_tiles (kernels/cpu/weighted_rows.h).
struct Vectors {
  using V = __m512;
  static constexpr int kLanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V broadcast(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  // Q8_0: d · q, as the scalar definition computes it.
  template <DType T>
  static V load(const uint8_t* row, int64_t i) {
    if constexpr (T == DType::kF32) {
      return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i);
    } else if constexpr (T == DType::kF16) {
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row) + i / 16));
    } else {
      const uint8_t* block = row + i / kQ8Block * 34;
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2 + i % kQ8Block));
      return _mm512_mul_ps(_mm512_set1_ps(load_f16(block)),
                           _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)));
    }
  }
};

}  // namespace

// Up to 6 heads by 64 columns at a time: 24 accumulators, 4 values and a weight in 32 registers.
// The same FMAs as AVX2's, so the same bits.
void weighted_rows(DType type, const uint8_t* const* rows, int64_t count, const float* weights,
                   int64_t weight_stride, int group, int64_t n, float* out, int64_t out_stride) {
  if (n % 16 != 0)
    return avx2::weighted_rows(type, rows, count, weights, weight_stride, group, n, out,
                               out_stride);
  weighted_rows_by_tiles<Vectors, 6, 4>(type, rows, count, weights, weight_stride, group, n, out,
                                        out_stride);
}

namespace {

// a's and b's pairs of values, the low or the high ones of each 128-bit quarter.
__m512 pairs(__m512 a, __m512 b, bool high) {
  const __m512d x = _mm512_castps_pd(a), y = _mm512_castps_pd(b);
  return _mm512_castpd_ps(high ? _mm512_unpackhi_pd(x, y) : _mm512_unpacklo_pd(x, y));
}

// r[i] becomes column i of the 16 x 16 block it held as rows: pairs of rows interleaved, then
// pairs of pairs, then the 128-bit quarters gathered across registers.
void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);  // per quarter: a0 b0 a1 b1
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[4 q + k]: per quarter L, column 4 L + k of rows 4 q .. 4 q + 3.
  for (int q = 0; q < 4; ++q) {
    u[4 * q] = pairs(t[4 * q], t[4 * q + 2], false);
    u[4 * q + 1] = pairs(t[4 * q], t[4 * q + 2], true);
    u[4 * q + 2] = pairs(t[4 * q + 1], t[4 * q + 3], false);
    u[4 * q + 3] = pairs(t[4 * q + 1], t[4 * q + 3], true);
  }
  for (int k = 0; k < 4; ++k) {
    const __m512 even = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);  // quarters 0, 2 of each
    const __m512 odd = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xdd);   // quarters 1, 3
    const __m512 even2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
    const __m512 odd2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xdd);
    r[k] = _mm512_shuffle_f32x4(even, even2, 0x88);
    r[4 + k] = _mm512_shuffle_f32x4(odd, odd2, 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(even, even2, 0xdd);
    r[12 + k] = _mm512_shuffle_f32x4(odd, odd2, 0xdd);
  }
}

template <DType T>
void transpose_keys_as(const uint8_t* const* keys, int64_t count, int64_t n, float* out,
                       int64_t out_stride) {
  for (int64_t j = 0; j < count; j += 16)
    for (int64_t i = 0; i < n; i += 16) {
      __m512 r[16];
      for (int64_t row = 0; row < 16; ++row)
        r[row] = j + row < count ? Vectors::load<T>(keys[j + row], i) : _mm512_setzero_ps();
      transpose16(r);
      for (int d = 0; d < 16; ++d) _mm512_storeu_ps(out + (i + d) * out_stride + j, r[d]);
    }
}

// G queries against 16 keys (those of `lanes`) as score_rows scores them on AVX2, so with its bits:
// chain k of a key sums the products of values k, k + 8, k + 16, ... in order, the 8 chains are
// added as avx2's horizontal sums pair them, then the values past the last multiple of 8 follow.
template <int G>
void score_transposed_tile(const float* keys_t, int64_t stride, __mmask16 lanes,
                           const float* queries, int64_t n, float* out, int64_t out_stride) {
  // Every loop unrolled, so that the accumulators stay in registers.
  __m512 acc[G][8];
#pragma GCC unroll 3
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) acc[g][k] = _mm512_setzero_ps();
  const int64_t whole = n / 8 * 8;
  for (int64_t d = 0; d < whole; d += 8)
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __m512 key = _mm512_maskz_loadu_ps(lanes, keys_t + (d + k) * stride);
#pragma GCC unroll 3
      for (int g = 0; g < G; ++g)
        acc[g][k] = _mm512_fmadd_ps(key, _mm512_set1_ps(queries[g * n + d + k]), acc[g][k]);
    }
#pragma GCC unroll 3
  for (int g = 0; g < G; ++g) {
    __m512 sum = _mm512_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc[g][0], acc[g][4]), _mm512_add_ps(acc[g][2], acc[g][6])),
        _mm512_add_ps(_mm512_add_ps(acc[g][1], acc[g][5]), _mm512_add_ps(acc[g][3], acc[g][7])));
    for (int64_t d = whole; d < n; ++d)
      sum = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, keys_t + d * stride),
                            _mm512_set1_ps(queries[g * n + d]), sum);
    _mm512_mask_storeu_ps(out + g * out_stride, lanes, sum);
  }
}

}  // namespace

void transpose_keys(DType type, const uint8_t* const* keys, int64_t count, int64_t n, float* out,
                    int64_t out_stride) {
  if (n % 16 != 0) return ref::transpose_keys(type, keys, count, n, out, out_stride);
  if (type == DType::kF16) return transpose_keys_as<DType::kF16>(keys, count, n, out, out_stride);
  if (type == DType::kQ8_0) return transpose_keys_as<DType::kQ8_0>(keys, count, n, out, out_stride);
  transpose_keys_as<DType::kF32>(keys, count, n, out, out_stride);
}

// Three queries at a time: 24 accumulators, a key vector and a broadcast in 32 registers.
void score_transposed(const float* keys_t, int64_t stride, int64_t count, const float* queries,
                      int group, int64_t n, float* out, int64_t out_stride) {
  for (int64_t j = 0; j < count; j += 16) {
    const auto lanes = static_cast<__mmask16>(count - j >= 16 ? 0xffff : (1u << (count - j)) - 1);
    for (int g = 0; g < group; g += 3)
      with_tile_shape<1, 3>(1, std::min(3, group - g), [&]<int R, int G>() {
        score_transposed_tile<G>(keys_t + j, stride, lanes, queries + g * n, n,
                                 out + g * out_stride + j, out_stride);
      });
  }
}

namespace {
struct Avx512Tag {};
}  // namespace

void dot_tile(DType weight_type, const void* const* weights, int nr, const float* const* x, int nc,
              int64_t n, float* out, int64_t out_stride) {
  DotTile<Avx512Tag, 2>::run(weight_type, weights, nr, x, nc, n, out, out_stride);
}

}  // namespace kvscope::avx512
