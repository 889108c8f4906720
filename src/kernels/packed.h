#pragma once
// Q4_0, Q4_1 and Q8_0 weights repacked once at load for the AVX2 fast path, 8 rows interleaved:
// one 256-bit register then holds the same 4 columns of 8 rows, so an integer dot product with 4
// broadcast activation bytes lands one row per 32-bit lane. A block's products are summed in
// integers and scaled once per block and row, with no horizontal sums and no per-pair scaling.
//
// Per group of 8 rows and block of 32 columns (as many bytes as the 8 rows' own blocks, except
// Q4_0's, which gains an offset):
//   Q4_0, Q4_1 (160 bytes)  d[8] f16: each row's scale; m[8] f16: its offset (Q4_1's min, -8 d for
//                           Q4_0), value = d q + m; then for k = 0..3, 32 bytes: row r's nibble
//                           bytes 4k..4k+3 at 4r (low nibbles: columns 4k..4k+3, high:
//                           16+4k..16+4k+3)
//   Q8_0 (272 bytes)        d[8] f16; then for g = 0..7, 32 bytes: row r's quants 4g..4g+3 at 4r
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

// Bytes of one block of a group of 8 rows; 0 for a type that is not packed.
inline int packed_block_bytes(DType type) {
  return type == DType::kQ8_0                           ? 16 + 8 * 32
         : type == DType::kQ4_0 || type == DType::kQ4_1 ? 32 + 4 * 32
                                                        : 0;
}
inline size_t packed_group_bytes(DType type, int64_t cols) {
  return static_cast<size_t>(cols / 32) * static_cast<size_t>(packed_block_bytes(type));
}
inline size_t packed_bytes(DType type, int64_t rows, int64_t cols) {
  return static_cast<size_t>((rows + kPackedRows - 1) / kPackedRows) *
         packed_group_bytes(type, cols);
}

// The repacked copy of a Q4_0, Q4_1 or Q8_0 matrix; empty for other types, or for a Q4_0 scale
// whose offset -8 d does not fit in f16.
std::vector<uint8_t> pack_rows(const TensorView& w);

}  // namespace kvscope
