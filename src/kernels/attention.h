#pragma once
// Attention of one token's query heads that share a KV head (grouped-query attention) over that
// head's cached rows [first, length) (first > 0 under a sliding window): out[g] = softmax(q[g] ·
// K^T · scale) · V. Each cached row is read once for the whole group, straight from an f32, f16 or
// q8_0 cache, through the cache's block table, and every output is reduced in position order,
// whatever the batch, the block layout or the cache strategy.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cpu/dispatch.h"

namespace kvscope {

// One layer's cached rows of a sequence, as the KV cache holds them: position j lives in block
// blocks[j / block_rows], row j % block_rows. A contiguous cache is one block.
struct CachedRows {
  const uint8_t* k = nullptr;  // the first key block
  const uint8_t* v = nullptr;  // the first value block
  const int32_t* blocks = nullptr;
  size_t block_bytes = 0;  // from one block to the next
  size_t row_bytes = 0;    // from one position to the next within a block
  int block_rows = 1;
  DType type = DType::kF32;  // kF32, kF16 or kQ8_0

  size_t offset(int pos) const {
    return static_cast<size_t>(blocks[pos / block_rows]) * block_bytes +
           static_cast<size_t>(pos % block_rows) * row_bytes;
  }
  const uint8_t* key(int pos) const { return k + offset(pos); }
  const uint8_t* value(int pos) const { return v + offset(pos); }
};

struct AttentionHeads {
  const float* queries;  // [group][head_dim], adjacent
  CachedRows rows;
  size_t head_offset;  // bytes from the start of a row to this KV head's values
  int group;
  int head_dim;
  int length;     // attends to cached positions [first, length)
  int first = 0;  // the oldest position a sliding window leaves visible
};

// A thread's working memory for attend_heads, resized as needed.
struct AttentionScratch {
  std::vector<float> scores;
  std::vector<const uint8_t*> keys, values;  // each position's rows for this head
};

// out: [group][head_dim].
void attend_heads(const Kernels& k, const AttentionHeads& a, float scale, AttentionScratch& scratch,
                  float* out);

}  // namespace kvscope
