#pragma once
// Attention of one token's query heads that share a KV head (grouped-query attention) over that
// head's cached rows [0, length): out[g] = softmax(q[g] · K^T · scale) · V. Each cached row is
// read once for the whole group, and every output is reduced in position order, whatever the
// batch or the cache strategy.
#include <cstdint>
#include <vector>

#include "kernels/cpu/dispatch.h"

namespace kvscope {

struct AttentionHeads {
  const float* queries;  // [group][head_dim], adjacent
  const float* keys;     // row j's head at keys + j * row_stride
  const float* values;   // likewise
  int group;
  int head_dim;
  int length;          // cached positions attended to
  int64_t row_stride;  // floats from one cached row to the next (the KV width)
};

// out: [group][head_dim]; scores is scratch, resized as needed.
void attend_heads(const Kernels& k, const AttentionHeads& a, float scale, std::vector<float>& scores, float* out);

}  // namespace kvscope
