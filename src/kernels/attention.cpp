#include "kernels/attention.h"

#include <algorithm>
#include <cstring>

#include "kernels/ref/ops.h"

namespace kvscope {

void attend_heads(const Kernels& k, const AttentionHeads& a, float scale, std::vector<float>& scratch, float* out) {
  const auto length = static_cast<size_t>(a.length);
  const auto head_dim = static_cast<size_t>(a.head_dim);
  const size_t value_bytes = a.f16 ? 2 : 4;
  auto cached_row = [&](const void* base, size_t j) {
    return static_cast<const uint8_t*>(base) + j * static_cast<size_t>(a.row_stride) * value_bytes;
  };
  scratch.resize(static_cast<size_t>(a.group) * length + head_dim);
  float* scores = scratch.data();  // [group][length]
  // Up to kDotTileRows keys against up to kDotTileCols queries at a time: each key row is loaded
  // (and widened) once per tile, and every score is computed alike whatever its tile.
  for (size_t j = 0; j < length; j += kDotTileRows) {
    const int nr = static_cast<int>(std::min<size_t>(kDotTileRows, length - j));
    const void* keys[kDotTileRows];
    for (int r = 0; r < nr; ++r) keys[r] = cached_row(a.keys, j + r);
    for (int g = 0; g < a.group; g += kDotTileCols) {
      const int nc = std::min(kDotTileCols, a.group - g);
      const float* queries[kDotTileCols];
      for (int c = 0; c < nc; ++c) queries[c] = a.queries + (g + c) * head_dim;
      k.dot_tile(a.f16 ? DType::kF16 : DType::kF32, keys, nr, queries, nc, a.head_dim, &scores[g * length + j],
                 static_cast<int64_t>(length));
    }
  }
  for (int g = 0; g < a.group; ++g) {
    for (size_t j = 0; j < length; ++j) scores[g * length + j] *= scale;
    ref::softmax(&scores[g * length], a.length);
  }
  std::memset(out, 0, static_cast<size_t>(a.group) * head_dim * sizeof(float));
  float* widened = scores + static_cast<size_t>(a.group) * length;
  for (size_t j = 0; j < length; ++j) {
    const uint8_t* row = cached_row(a.values, j);
    const float* value = reinterpret_cast<const float*>(row);
    if (a.f16) {
      k.widen_f16(reinterpret_cast<const uint16_t*>(row), widened, a.head_dim);
      value = widened;
    }
    for (int g = 0; g < a.group; ++g) k.axpy(out + g * head_dim, scores[g * length + j], value, a.head_dim);
  }
}

}  // namespace kvscope
