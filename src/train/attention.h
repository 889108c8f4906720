#pragma once
// Causal self-attention with grouped KV heads, forward and backward, over a batch of sequences
// of seq_len positions laid out row after row: q is [rows][heads][head_dim], k and v are
// [rows][kv_heads][head_dim], and query head h reads KV head h / (heads / kv_heads).
#include <cstdint>

#include "core/thread_pool.h"

namespace kvscope::train {

struct AttentionShape {
  int batch = 0, seq_len = 0, heads = 0, kv_heads = 0, head_dim = 0;
  int64_t rows() const { return static_cast<int64_t>(batch) * seq_len; }
  int group() const { return heads / kv_heads; }
};

// out = softmax(q·kᵀ / √head_dim, causal) · v; probs [batch][heads][seq_len][seq_len] keeps the
// weights for the backward (zero above the diagonal).
void attention_forward(ThreadPool& pool, const AttentionShape& s, const float* q, const float* k,
                       const float* v, float* out, float* probs);
// Overwrites dq, dk and dv.
void attention_backward(ThreadPool& pool, const AttentionShape& s, const float* dout,
                        const float* q, const float* k, const float* v, const float* probs,
                        float* dq, float* dk, float* dv);

}  // namespace kvscope::train
