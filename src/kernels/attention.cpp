#include "kernels/attention.h"

#include <algorithm>

namespace kvscope {

void attend_heads(const Kernels& k, const AttentionHeads& a, float scale, AttentionScratch& scratch,
                  float* out) {
  const auto first = static_cast<size_t>(a.first);
  const auto length = static_cast<size_t>(a.length) - first;  // positions first + j
  scratch.scores.resize(static_cast<size_t>(a.group) * length);
  scratch.keys.resize(length);
  scratch.values.resize(length);
  for (size_t j = 0; j < length; ++j) {
    const size_t offset = a.rows.offset(static_cast<int>(first + j)) + a.head_offset;
    scratch.keys[j] = a.rows.k + offset;
    scratch.values[j] = a.rows.v + offset;
  }
  float* scores = scratch.scores.data();  // [group][length]
  const auto n = static_cast<int64_t>(length);
  k.score_rows(a.rows.type, scratch.keys.data(), n, a.queries, a.group, a.head_dim, scores, n);
  for (int g = 0; g < a.group; ++g) k.softmax(&scores[g * length], n, scale);
  k.weighted_rows(a.rows.type, scratch.values.data(), n, scores, n, a.group, a.head_dim, out,
                  a.head_dim);
}

}  // namespace kvscope
