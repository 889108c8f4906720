#pragma once
// Attention of one token's query heads that share a KV head (grouped-query attention) over that
// head's cached rows [0, length): out[g] = softmax(q[g] · K^T · scale) · V. Each cached row is
// read once for the whole group, straight from an f32 or f16 cache (widened in registers), and
// every output is reduced in position order, whatever the batch or the cache strategy.
#include <cstdint>
#include <vector>

#include "kernels/cpu/dispatch.h"

namespace kvscope {

struct AttentionHeads {
  const float* queries;  // [group][head_dim], adjacent
  const void* keys;      // row j's head at keys + j * row_stride values
  const void* values;    // likewise
  bool f16;              // keys and values are f16 (else f32)
  int group;
  int head_dim;
  int length;          // cached positions attended to
  int64_t row_stride;  // values from one cached row to the next (the KV width)
};

// out: [group][head_dim]; scratch is resized as needed.
void attend_heads(const Kernels& k, const AttentionHeads& a, float scale, std::vector<float>& scratch, float* out);

}  // namespace kvscope
