#pragma once
// Q4_0 and Q4_1 weights repacked once at load for the AVX2 fast path, 8 rows interleaved: one
// 256-bit register then holds the same 4 columns of 8 rows, so an integer dot product with 4
// broadcast activation bytes lands one row per 32-bit lane. A block's products are summed in 16
// bits and scaled once per block and row, with no horizontal sums and no per-pair scaling.
//
// Per group of 8 rows and block of 32 columns, kQ4PackedBlockBytes bytes:
//   d[8]       f16   each row's scale
//   m[8]       f16   each row's offset (Q4_1's min; -8 d for Q4_0): value = d q + m
//   q[4][32]   for k = 0..3, row r: bytes 4k..4k+3 of its block's 16 nibble bytes, whose low
//              nibbles are columns 4k..4k+3 and high nibbles columns 16+4k..16+4k+3
// Groups follow each other (every block of rows 0-7, then rows 8-15, ...); missing rows of the
// last group are zero.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace kvscope {

constexpr int kPackedRows = 8;
constexpr int kQ4PackedBlockBytes = 32 + 4 * 32;

inline size_t q4_packed_group_bytes(int64_t cols) { return static_cast<size_t>(cols / 32) * kQ4PackedBlockBytes; }
inline size_t q4_packed_bytes(int64_t rows, int64_t cols) {
  return static_cast<size_t>((rows + kPackedRows - 1) / kPackedRows) * q4_packed_group_bytes(cols);
}

// The repacked copy of a Q4_0 or Q4_1 matrix; empty for other types, or for a Q4_0 scale whose
// offset -8 d does not fit in f16.
std::vector<uint8_t> pack_q4(const TensorView& w);

}  // namespace kvscope
