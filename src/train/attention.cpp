#include "train/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kvscope::train {
namespace {

float dot(const float* a, const float* b, int n) {
  float sum = 0;
  for (int i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void add_scaled(float* y, float a, const float* x, int n) {
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

// Addresses of one row's head in q-like ([rows][heads][head_dim]) or k-like tensors.
struct Rows {
  const AttentionShape& s;
  template <typename T>
  T* q_head(T* q, int b, int t, int h) const {
    return q + ((static_cast<int64_t>(b) * s.seq_len + t) * s.heads + h) * s.head_dim;
  }
  template <typename T>
  T* kv_head(T* kv, int b, int t, int g) const {
    return kv + ((static_cast<int64_t>(b) * s.seq_len + t) * s.kv_heads + g) * s.head_dim;
  }
  template <typename T>
  T* probs_row(T* probs, int b, int h, int t) const {
    return probs + ((static_cast<int64_t>(b) * s.heads + h) * s.seq_len + t) * s.seq_len;
  }
};

// One query head of one sequence: every position's weights over the positions up to it.
void forward_head(const AttentionShape& s, int b, int h, const float* q, const float* k,
                  const float* v, float* out, float* probs) {
  const Rows at{s};
  const int g = h / s.group(), d = s.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (int t = 0; t < s.seq_len; ++t) {
    float* p = at.probs_row(probs, b, h, t);
    const float* qt = at.q_head(q, b, t, h);
    float max = -INFINITY;
    for (int u = 0; u <= t; ++u) {
      p[u] = dot(qt, at.kv_head(k, b, u, g), d) * scale;
      max = std::max(max, p[u]);
    }
    float sum = 0;
    for (int u = 0; u <= t; ++u) sum += p[u] = std::exp(p[u] - max);
    std::fill(p + t + 1, p + s.seq_len, 0.0f);
    float* o = at.q_head(out, b, t, h);
    std::fill(o, o + d, 0.0f);
    for (int u = 0; u <= t; ++u) {
      p[u] /= sum;
      add_scaled(o, p[u], at.kv_head(v, b, u, g), d);
    }
  }
}

// One KV head of one sequence and the query heads that read it, so that one thread alone
// accumulates its dk and dv.
void backward_group(const AttentionShape& s, int b, int g, const float* dout, const float* q,
                    const float* k, const float* v, const float* probs, float* dq, float* dk,
                    float* dv) {
  const Rows at{s};
  const int d = s.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (int t = 0; t < s.seq_len; ++t) {
    std::fill_n(at.kv_head(dk, b, t, g), d, 0.0f);
    std::fill_n(at.kv_head(dv, b, t, g), d, 0.0f);
  }
  std::vector<float> dp(static_cast<size_t>(s.seq_len));
  for (int h = g * s.group(); h < (g + 1) * s.group(); ++h) {
    for (int t = 0; t < s.seq_len; ++t) {
      const float* p = at.probs_row(probs, b, h, t);
      const float *dot_t = at.q_head(dout, b, t, h), *qt = at.q_head(q, b, t, h);
      float weighted = 0;  // Σ p · dp: the softmax's backward subtracts it
      for (int u = 0; u <= t; ++u) {
        dp[u] = dot(dot_t, at.kv_head(v, b, u, g), d);
        weighted += p[u] * dp[u];
      }
      float* dqt = at.q_head(dq, b, t, h);
      std::fill_n(dqt, d, 0.0f);
      for (int u = 0; u <= t; ++u) {
        const float ds = p[u] * (dp[u] - weighted) * scale;
        add_scaled(dqt, ds, at.kv_head(k, b, u, g), d);
        add_scaled(at.kv_head(dk, b, u, g), ds, qt, d);
        add_scaled(at.kv_head(dv, b, u, g), p[u], dot_t, d);
      }
    }
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
    for (int64_t i = begin; i < end; ++i)
      backward_group(s, static_cast<int>(i / s.kv_heads), static_cast<int>(i % s.kv_heads), dout, q,
                     k, v, probs, dq, dk, dv);
  });
}

}  // namespace kvscope::train
