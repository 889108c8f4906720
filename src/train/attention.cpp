#include "train/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "train/matmul.h"

namespace kvscope::train {
namespace {

// Addresses of one sequence's first row of a head in q-like ([rows][heads][head_dim]) or k-like
// tensors, and the step from row to row. Each head's positions are a strided matrix, which the
// gemm reads in place.
struct Rows {
  const AttentionShape& s;
  int64_t q_step() const { return static_cast<int64_t>(s.heads) * s.head_dim; }
  int64_t kv_step() const { return static_cast<int64_t>(s.kv_heads) * s.head_dim; }
  template <typename T>
  T* q_head(T* q, int b, int h) const {
    return q + static_cast<int64_t>(b) * s.seq_len * q_step() +
           static_cast<int64_t>(h) * s.head_dim;
  }
  template <typename T>
  T* kv_head(T* kv, int b, int g) const {
    return kv + static_cast<int64_t>(b) * s.seq_len * kv_step() +
           static_cast<int64_t>(g) * s.head_dim;
  }
  template <typename T>
  T* probs(T* probs, int b, int h) const {
    return probs + (static_cast<int64_t>(b) * s.heads + h) * s.seq_len * s.seq_len;
  }
};

// Row t of scores (positions past t are masked): the softmax of its first t + 1, zeros after.
void causal_softmax_row(float* p, int t, int seq_len) {
  const float max = *std::max_element(p, p + t + 1);
  float sum = 0;
  for (int u = 0; u <= t; ++u) sum += p[u] = std::exp(p[u] - max);
  for (int u = 0; u <= t; ++u) p[u] /= sum;
  std::fill(p + t + 1, p + seq_len, 0.0f);
}

// One query head of one sequence: P = softmax(Q Kᵀ · scale), O = P V.
void forward_head(const AttentionShape& s, int b, int h, const float* q, const float* k,
                  const float* v, float* out, float* probs) {
  const Rows at{s};
  const int g = h / s.group(), d = s.head_dim, n = s.seq_len;
  float* p = at.probs(probs, b, h);
  gemm({.m = n,
        .n = n,
        .k = d,
        .a = at.q_head(q, b, h),
        .a_row = at.q_step(),
        .b = at.kv_head(k, b, g),
        .b_row = 1,
        .b_col = at.kv_step(),
        .c = p,
        .c_row = n});
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (int t = 0; t < n; ++t) {
    float* row = p + static_cast<int64_t>(t) * n;
    for (int u = 0; u <= t; ++u) row[u] *= scale;
    causal_softmax_row(row, t, n);
  }
  // The zeros past the diagonal add nothing to O.
  gemm({.m = n,
        .n = d,
        .k = n,
        .a = p,
        .a_row = n,
        .b = at.kv_head(v, b, g),
        .b_row = at.kv_step(),
        .c = at.q_head(out, b, h),
        .c_row = at.q_step()});
}

// One KV head of one sequence and the query heads that read it, so that one thread alone
// accumulates its dk and dv: dP = dO Vᵀ, dS = P ⊙ (dP − Σ P ⊙ dP) · scale, dQ = dS K,
// dK += dSᵀ Q, dV += Pᵀ dO.
void backward_group(const AttentionShape& s, int b, int g, const float* dout, const float* q,
                    const float* k, const float* v, const float* probs, float* dq, float* dk,
                    float* dv, std::vector<float>& ds) {
  const Rows at{s};
  const int d = s.head_dim, n = s.seq_len;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  ds.resize(static_cast<size_t>(n) * n);
  for (int h = g * s.group(); h < (g + 1) * s.group(); ++h) {
    const float* p = at.probs(probs, b, h);
    const float* dout_h = at.q_head(dout, b, h);
    const bool first = h == g * s.group();
    gemm({.m = n,
          .n = n,
          .k = d,
          .a = dout_h,
          .a_row = at.q_step(),
          .b = at.kv_head(v, b, g),
          .b_row = 1,
          .b_col = at.kv_step(),
          .c = ds.data(),
          .c_row = n});
    for (int t = 0; t < n; ++t) {
      const float* pt = p + static_cast<int64_t>(t) * n;
      float* dst = ds.data() + static_cast<int64_t>(t) * n;
      float weighted = 0;  // Σ p · dp: the softmax's backward subtracts it
      for (int u = 0; u <= t; ++u) weighted += pt[u] * dst[u];
      for (int u = 0; u <= t; ++u) dst[u] = pt[u] * (dst[u] - weighted) * scale;
      std::fill(dst + t + 1, dst + n, 0.0f);
    }
    gemm({.m = n,
          .n = d,
          .k = n,
          .a = ds.data(),
          .a_row = n,
          .b = at.kv_head(k, b, g),
          .b_row = at.kv_step(),
          .c = at.q_head(dq, b, h),
          .c_row = at.q_step()});
    gemm({.m = n,
          .n = d,
          .k = n,
          .a = ds.data(),
          .a_row = 1,
          .a_col = n,
          .b = at.q_head(q, b, h),
          .b_row = at.q_step(),
          .c = at.kv_head(dk, b, g),
          .c_row = at.kv_step(),
          .accumulate = !first});
    gemm({.m = n,
          .n = d,
          .k = n,
          .a = p,
          .a_row = 1,
          .a_col = n,
          .b = dout_h,
          .b_row = at.q_step(),
          .c = at.kv_head(dv, b, g),
          .c_row = at.kv_step(),
          .accumulate = !first});
  }
}

}  // namespace

void attention_forward(ThreadPool& pool, const AttentionShape& s, const float* q, const float* k,
                       const float* v, float* out, float* probs) {
  pool.parallel_for(static_cast<int64_t>(s.batch) * s.heads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      forward_head(s, static_cast<int>(i / s.heads), static_cast<int>(i % s.heads), q, k, v, out,
                   probs);
  });
}

void attention_backward(ThreadPool& pool, const AttentionShape& s, const float* dout,
                        const float* q, const float* k, const float* v, const float* probs,
                        float* dq, float* dk, float* dv) {
  pool.parallel_for(static_cast<int64_t>(s.batch) * s.kv_heads, [&](int64_t begin, int64_t end) {
    std::vector<float> ds;
    for (int64_t i = begin; i < end; ++i)
      backward_group(s, static_cast<int>(i / s.kv_heads), static_cast<int>(i % s.kv_heads), dout, q,
                     k, v, probs, dq, dk, dv, ds);
  });
}

}  // namespace kvscope::train
