#pragma once
// Attention of a run of consecutive tokens of one sequence, for the query heads that share a KV
// head (grouped-query attention), over that head's cached rows: token i attends to [first_i,
// length + i), out[i][g] = softmax(q[i][g] · K^T · scale) · V. Each cached row is read for the
// whole group, and for a whole run of a prompt while it is in the first-level cache, straight
// from an f32, f16 or q8_0 cache through the cache's block table; every score and output is
// computed alike, in position order, whatever the run, the batch, the block layout or the cache
// strategy.
#include <algorithm>
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
  const float* queries;  // token i's [group][head_dim], adjacent, at queries + i query_stride
  CachedRows rows;
  size_t head_offset;  // bytes from the start of a row to this KV head's values
  int group;
  int head_dim;
  int length;     // the first token attends to cached positions [first, length)
  int first = 0;  // the oldest position a sliding window leaves the first token
  int tokens = 1;
  int64_t query_stride = 0;  // floats from one token's queries, and outputs, to the next's
  int window = 0;            // a sliding window's width (0: none), moving `first` along the run
  // Token i attends to cached positions [first_of(i), length + i).
  int first_of(int i) const { return window > 0 ? std::max(first, length + i - window) : first; }
};

// A thread's working memory for attend_heads, resized as needed.
struct AttentionScratch {
  std::vector<float> scores;
  std::vector<float> keys_t;                 // a chunk of keys, transposed
  std::vector<const uint8_t*> keys, values;  // each position's rows for this head
};

// out: token i's [group][head_dim] at out + i query_stride.
void attend_heads(const Kernels& k, const AttentionHeads& a, float scale, AttentionScratch& scratch,
                  float* out);

}  // namespace kvscope
