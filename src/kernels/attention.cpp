#include "kernels/attention.h"

#include <algorithm>
#include <cstring>

#include "kernels/ref/ops.h"

namespace kvscope {

void attend_heads(const Kernels& k, const AttentionHeads& a, float scale,
                  std::vector<float>& scratch, float* out) {
  const auto first = static_cast<size_t>(a.first);
  const auto length = static_cast<size_t>(a.length) - first;  // positions first + j
  const auto head_dim = static_cast<size_t>(a.head_dim);
  const bool q8 = a.rows.type == DType::kQ8_0;
  scratch.resize(static_cast<size_t>(a.group) * length + (1 + kDotTileRows) * head_dim);
  float* scores = scratch.data();                                   // [group][length]
  float* widened = scores + static_cast<size_t>(a.group) * length;  // [head_dim]
  float* key_tile = widened + head_dim;                             // [kDotTileRows][head_dim]
  // Up to kDotTileRows keys against up to kDotTileCols queries at a time: each key row is loaded
  // (and widened) once per tile, and every score is computed alike whatever its tile.
  for (size_t j = 0; j < length; j += kDotTileRows) {
    const int nr = static_cast<int>(std::min<size_t>(kDotTileRows, length - j));
    const void* keys[kDotTileRows];
    for (int r = 0; r < nr; ++r) {
      const uint8_t* row = a.rows.key(static_cast<int>(first + j) + r) + a.head_offset;
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
  for (int g = 0; g < a.group; ++g) {
    for (size_t j = 0; j < length; ++j) scores[g * length + j] *= scale;
    ref::softmax(&scores[g * length], static_cast<int64_t>(length));
  }
  std::memset(out, 0, static_cast<size_t>(a.group) * head_dim * sizeof(float));
  for (size_t j = 0; j < length; ++j) {
    const uint8_t* row = a.rows.value(static_cast<int>(first + j)) + a.head_offset;
    const float* value = reinterpret_cast<const float*>(row);
    if (a.rows.type != DType::kF32) {
      if (q8)
        k.dequantize_row(DType::kQ8_0, row, widened, a.head_dim);
      else
        k.widen_f16(reinterpret_cast<const uint16_t*>(row), widened, a.head_dim);
      value = widened;
    }
    for (int g = 0; g < a.group; ++g)
      k.axpy(out + g * head_dim, scores[g * length + j], value, a.head_dim);
  }
}

}  // namespace kvscope
