#include "kernels/attention.h"

#include <algorithm>

namespace kvscope {

void attend_heads(const Kernels& k, const AttentionHeads& a, float scale, AttentionScratch& scratch,
                  float* out) {
  const auto first = static_cast<size_t>(a.first);
  const auto length = static_cast<size_t>(a.length) - first;  // positions first + j
  const auto head_dim = static_cast<size_t>(a.head_dim);
  const bool q8 = a.rows.type == DType::kQ8_0;
  scratch.floats.resize(static_cast<size_t>(a.group) * length + kDotTileRows * head_dim);
  scratch.values.resize(length);
  float* scores = scratch.floats.data();                             // [group][length]
  float* key_tile = scores + static_cast<size_t>(a.group) * length;  // [kDotTileRows][head_dim]
  // Up to kDotTileRows keys against up to kDotTileCols queries at a time: each key row is loaded
  // (and widened) once per tile, and every score is computed alike whatever its tile.
  for (size_t j = 0; j < length; j += kDotTileRows) {
    const int nr = static_cast<int>(std::min<size_t>(kDotTileRows, length - j));
    const void* keys[kDotTileRows];
    for (int r = 0; r < nr; ++r) {
      const size_t offset = a.rows.offset(static_cast<int>(first + j) + r) + a.head_offset;
      const uint8_t* row = a.rows.k + offset;
      scratch.values[j + r] = a.rows.v + offset;
      keys[r] = row;
      if (q8) {
        k.dequantize_row(DType::kQ8_0, row, key_tile + r * head_dim, a.head_dim);
        keys[r] = key_tile + r * head_dim;
      }
    }
    const DType key_type = q8 ? DType::kF32 : a.rows.type;
    for (int g = 0; g < a.group; g += kDotTileCols) {
      const int nc = std::min(kDotTileCols, a.group - g);
      const float* queries[kDotTileCols];
      for (int c = 0; c < nc; ++c) queries[c] = a.queries + (g + c) * head_dim;
      k.dot_tile(key_type, keys, nr, queries, nc, a.head_dim, &scores[g * length + j],
                 static_cast<int64_t>(length));
    }
  }
  const auto n = static_cast<int64_t>(length);
  for (int g = 0; g < a.group; ++g) k.softmax(&scores[g * length], n, scale);
  k.weighted_rows(a.rows.type, scratch.values.data(), n, scores, n, a.group, a.head_dim, out,
                  a.head_dim);
}

}  // namespace kvscope
