#pragma once
// Quantized weights repacked once at load for the AVX2 and AVX-512 fast path, 8 rows interleaved:
// one 256-bit register then holds the same 4 columns of 8 rows, so an integer dot product with 4
// broadcast activation bytes lands one row per 32-bit lane. A block's products are summed in
// integers and scaled once per block and row, with no horizontal sums and no per-pair scaling.
//
// Every packed block covers 32 columns of 8 rows, the activations' block, and holds, in order:
//   d[8]       each row's scale: f16, or for Q4_K and Q5_K its 6-bit sub-block scale sc (a byte)
//   m[8]       each row's offset, value = d q + m, same width as d (formats with an offset only;
//              for Q4_K and Q5_K the 6-bit sub-block minimum)
//   sc[2][8]   Q6_K only: each row's signed 8-bit scales of columns 0-15 and 16-31
//   quants     nibbles (4 × 32 bytes: for k = 0..3, row r's nibble bytes 4k..4k+3 at 4r; low
//              nibbles are columns 4k..4k+3, high ones 16+4k..16+4k+3); five or six bits (those
//              nibbles, then one or two lines of 32 bytes of the top bits, t a value: byte 4r + j
//              of line t g / 8 holds those of column 4g + j at bit t g % 8; the value is that less
//              the format's bias); or signed bytes (8 × 32 bytes: for g = 0..7, row r's values
//              4g..4g+3 at 4r)
// The K-quants keep their scales as the file stores them, so that decode, which reads every
// weight byte once per token, reads no more than the file holds: a group starts with a header per
// 256 columns, each row's f16 super-block scale d (Q6_K's whole d), then for Q4_K and Q5_K its f16
// dmin, and the kernels form d sc and -dmin min, which are exact in f32 (an f16 times a 6-bit
// integer).
// The file's types map onto these formats with the same values (tests/kernels compares each
// packed matrix with the exact dequantization):
//   Q4_0, Q4_1  nibbles, f16 d and m (Q4_0's m is -8 d, when that fits f16)   160 bytes a block
//   Q4_K        nibbles, 6-bit sc and min, the header                         144 (+ 4 a block)
//   Q8_0        signed bytes, f16 d                                           272
//   Q5_0        five bits less 16, f16 d                                      176
//   Q5_1        five bits, f16 d and m                                        192
//   Q5_K        five bits, sc and min as Q4_K's                               176 (+ 4 a block)
//   Q6_K        six bits less 32, two 8-bit scales, the header                208 (+ 2 a block)
// Groups follow each other (every block of rows 0-7, then rows 8-15, ...); missing rows of the
// last group are zero.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace kvscope {

constexpr int kPackedRows = 8;
// How far ahead of the block being read the packed kernels prefetch: the hardware prefetcher alone
// left one-sequence decode about 10-15% slower on an AVX2 AMD EPYC (family 23; tried 4, 8, 16, 26
// and 52 blocks ahead: 16 to 26 best).
constexpr int kPackedPrefetchBlocks = 16;

enum class PackedQuants { kNibbles, kFiveBits, kSixBits, kSigned8 };

// What one packed block holds, a compile-time description the kernels are specialized on.
struct PackedFormat {
  PackedQuants quants = PackedQuants::kNibbles;
  bool k_scales = false;    // the K-quants' header; d and m as 6-bit bytes, unless sub_scales
  bool offset = false;      // m present
  bool sub_scales = false;  // sc present (Q6_K)
  int bias = 0;             // subtracted from five- and six-bit values: they are then signed

  constexpr int scale_bytes() const { return k_scales ? (sub_scales ? 0 : 1) : 2; }
  constexpr int offset_at() const { return kPackedRows * scale_bytes(); }
  constexpr int sub_scales_at() const { return offset_at() * (offset ? 2 : 1); }
  constexpr int quants_at() const { return sub_scales_at() + (sub_scales ? 2 * kPackedRows : 0); }
  // Bits of each value above its nibble, in the lines after the 4 lines of nibbles.
  constexpr int top_bits() const {
    return quants == PackedQuants::kFiveBits ? 1 : quants == PackedQuants::kSixBits ? 2 : 0;
  }
  constexpr int block_bytes() const {
    return quants_at() + (quants == PackedQuants::kSigned8 ? 8 : 4 + top_bits()) * 32;
  }
  constexpr bool is_signed() const { return quants == PackedQuants::kSigned8 || bias > 0; }
  // Bytes of the header per super-block, and before a group's first block.
  constexpr int k_header_bytes() const { return 2 * kPackedRows * (offset ? 2 : 1); }
  constexpr int64_t header_bytes(int64_t cols) const {
    return k_scales ? cols / kKBlock * k_header_bytes() : 0;
  }
  // Where block b of a group of `cols` columns starts, and the header of its super-block.
  constexpr int64_t block_at(int64_t cols, int64_t b) const {
    return header_bytes(cols) + b * block_bytes();
  }
  constexpr int64_t k_header_at(int64_t b) const { return b * 32 / kKBlock * k_header_bytes(); }
  // Bytes of one group of 8 rows of `cols` columns: its header and its blocks.
  constexpr int64_t group_bytes(int64_t cols) const { return block_at(cols, cols / 32); }
  constexpr bool operator==(const PackedFormat&) const = default;

  static constexpr int64_t kKBlock = 256;  // columns of a K-quant super-block
};

constexpr PackedFormat kPackedQ4{PackedQuants::kNibbles, false, true, false};
constexpr PackedFormat kPackedQ4K{PackedQuants::kNibbles, true, true, false};
constexpr PackedFormat kPackedQ8{PackedQuants::kSigned8, false, false, false};
constexpr PackedFormat kPackedQ50{PackedQuants::kFiveBits, false, false, false, 16};
constexpr PackedFormat kPackedQ51{PackedQuants::kFiveBits, false, true, false};
constexpr PackedFormat kPackedQ5K{PackedQuants::kFiveBits, true, true, false};
constexpr PackedFormat kPackedQ6K{PackedQuants::kSixBits, true, false, true, 32};

// Whether matrices of this type are repacked, and into which format.
inline bool is_packable(DType type) {
  switch (type) {
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ4_K:
    case DType::kQ8_0:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}
// fn.template operator()<F>() with the packed format F of a packable type, known at compile time
// in the kernels that take it.
template <class Fn>
decltype(auto) with_packed_format(DType type, Fn&& fn) {
  switch (type) {
    case DType::kQ4_K:
      return fn.template operator()<kPackedQ4K>();
    case DType::kQ8_0:
      return fn.template operator()<kPackedQ8>();
    case DType::kQ5_0:
      return fn.template operator()<kPackedQ50>();
    case DType::kQ5_1:
      return fn.template operator()<kPackedQ51>();
    case DType::kQ5_K:
      return fn.template operator()<kPackedQ5K>();
    case DType::kQ6_K:
      return fn.template operator()<kPackedQ6K>();
    default:  // Q4_0 and Q4_1 share one packed layout: Q4_0's offset -8 d is stored as a min
      return fn.template operator()<kPackedQ4>();
  }
}
inline PackedFormat packed_format(DType type) {
  return with_packed_format(type, []<PackedFormat F>() { return F; });
}

// Bytes of one block of a group of 8 rows; 0 for a type that is not packed. Each size is formed
// where its format is a template argument: a PackedFormat returned from a call that is not inlined
// (packed_format in a SIMD file) stalls its caller as its bytes are read back as one word.
inline int packed_block_bytes(DType type) {
  return is_packable(type)
             ? with_packed_format(type, []<PackedFormat F>() { return F.block_bytes(); })
             : 0;
}
inline size_t packed_group_bytes(DType type, int64_t cols) {
  if (!is_packable(type)) return 0;
  return static_cast<size_t>(
      with_packed_format(type, [cols]<PackedFormat F>() { return F.group_bytes(cols); }));
}
inline size_t packed_bytes(DType type, int64_t rows, int64_t cols) {
  return static_cast<size_t>((rows + kPackedRows - 1) / kPackedRows) *
         packed_group_bytes(type, cols);
}

// The repacked copy of a matrix of a packable type; empty for other types, or for a Q4_0 scale
// whose offset -8 d does not fit in f16.
std::vector<uint8_t> pack_rows(const TensorView& w);

// Row r's value of column `column` (0..31) in a block's quants.
inline int packed_value(PackedFormat f, const uint8_t* quants, int r, int column) {
  const int g = column / 4, j = column % 4;
  if (f.quants == PackedQuants::kSigned8) return static_cast<int8_t>(quants[32 * g + 4 * r + j]);
  const int nibble = (quants[32 * (g % 4) + 4 * r + j] >> (g < 4 ? 0 : 4)) & 0x0f;
  const int t = f.top_bits();
  if (t == 0) return nibble;
  const int top = (quants[128 + 32 * (t * g / 8) + 4 * r + j] >> (t * g % 8)) & ((1 << t) - 1);
  return (nibble | top << 4) - f.bias;
}

// Row r's scale d and offset m (0 without one) in block b of a packed group of n columns, as the
// kernels form them (Q6_K's d alone: its 8-bit scales apply to the integer sums).
void packed_row_scales(PackedFormat f, const uint8_t* group, int64_t n, int64_t b, int r, float* d,
                       float* m);

// Row r (0..7) of one packed group of n columns, as the packed values define it (d q + m, and for
// Q6_K d sc q), for tests against the exact dequantization.
void unpack_row(DType type, const uint8_t* group, int64_t n, int r, float* out);

}  // namespace kvscope
