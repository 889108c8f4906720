#include "train/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "kernels/cpu/lanes.h"

namespace kvscope::train {

void embedding_forward(const float* table, const int32_t* ids, int64_t n, int64_t dim, float* out) {
  for (int64_t t = 0; t < n; ++t)
    std::memcpy(out + t * dim, table + static_cast<int64_t>(ids[t]) * dim, dim * sizeof(float));
}

void embedding_backward(ThreadPool& pool, const float* dout, const int32_t* ids, int64_t n,
                        int64_t dim, float* dtable) {
  // Split by column: a token's row may be hit from several positions, each column by one thread.
  pool.parallel_for(dim, [&](int64_t begin, int64_t end) {
    for (int64_t t = 0; t < n; ++t) {
      float* row = dtable + static_cast<int64_t>(ids[t]) * dim;
      for (int64_t j = begin; j < end; ++j) row[j] += dout[t * dim + j];
    }
  });
}

void rms_norm_forward(ThreadPool& pool, const float* x, const float* weight, int64_t n, int64_t dim,
                      float eps, float* out, float* rstd) {
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* xt = x + t * dim;
      float sum = 0;
      for (int64_t j = 0; j < dim; ++j) sum += xt[j] * xt[j];
      const float r = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
      rstd[t] = r;
      for (int64_t j = 0; j < dim; ++j) out[t * dim + j] = xt[j] * r * weight[j];
    }
  });
}

void rms_norm_backward(ThreadPool& pool, const float* dout, const float* x, const float* weight,
                       const float* rstd, int64_t n, int64_t dim, float* dx, float* dweight) {
  // y = w · x · r with r = (mean(x²) + eps)^(-1/2):
  // ∂/∂x = r · w · dy − x · r³ / dim · Σ (w · dy · x).
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float *xt = x + t * dim, *dy = dout + t * dim;
      float dot = 0;
      for (int64_t j = 0; j < dim; ++j) dot += weight[j] * dy[j] * xt[j];
      const float r = rstd[t], c = dot * r * r * r / static_cast<float>(dim);
      for (int64_t j = 0; j < dim; ++j) dx[t * dim + j] += r * weight[j] * dy[j] - c * xt[j];
    }
  });
  pool.parallel_for(dim, [&](int64_t begin, int64_t end) {
    for (int64_t t = 0; t < n; ++t)
      for (int64_t j = begin; j < end; ++j)
        dweight[j] += dout[t * dim + j] * x[t * dim + j] * rstd[t];
  });
}

RopeTable::RopeTable(int positions, int head_dim, float base) : half(head_dim / 2) {
  cos.resize(static_cast<size_t>(positions) * half);
  sin.resize(cos.size());
  for (int i = 0; i < half; ++i) {
    // As transformers computes it: the inverse frequency and the angle in f32.
    const float inv_freq =
        1.0f / std::pow(base, static_cast<float>(2 * i) / static_cast<float>(head_dim));
    for (int p = 0; p < positions; ++p) {
      const float angle = static_cast<float>(p) * inv_freq;
      cos[p * half + i] = std::cos(angle);
      sin[p * half + i] = std::sin(angle);
    }
  }
}

void rope_apply(ThreadPool& pool, const RopeTable& table, float* x, int64_t n, int seq_len,
                int heads, bool inverse) {
  const int half = table.half, head_dim = 2 * half;
  const float sign = inverse ? -1.0f : 1.0f;
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* c = table.cos.data() + (t % seq_len) * half;
      const float* s = table.sin.data() + (t % seq_len) * half;
      for (int h = 0; h < heads; ++h) {
        float* v = x + (t * heads + h) * head_dim;
        for (int i = 0; i < half; ++i) {
          const float a = v[i], b = v[i + half], si = sign * s[i];
          v[i] = a * c[i] - b * si;
          v[i + half] = b * c[i] + a * si;
        }
      }
    }
  });
}

namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// The scalar definitions; the vector kernels below compute the same on Lanes8 (AVX2) or Lanes16
// (AVX-512), with exp_lanes for std::exp.
void swiglu_backward_scalar(const float* dout, const float* gate, const float* up, float* dgate,
                            float* dup, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float g = gate[i], s = sigmoid(g);
    dup[i] = dout[i] * g * s;
    dgate[i] = dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
  }
}

// −log softmax(row)[target]; with `grad_scale` > 0 the row becomes (softmax − onehot) · scale.
double cross_entropy_row_scalar(float* row, int64_t vocab, int32_t target, float grad_scale) {
  const float max = *std::max_element(row, row + vocab);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v] - max));
  const double loss = std::log(sum) - static_cast<double>(row[target] - max);
  if (grad_scale > 0) {
    const auto inv = static_cast<float>(1.0 / sum);
    for (int64_t v = 0; v < vocab; ++v) row[v] = std::exp(row[v] - max) * inv * grad_scale;
    row[target] -= grad_scale;
  }
  return loss;
}

template <class V>
[[gnu::always_inline]] inline void swiglu_backward_lanes(const float* dout, const float* gate,
                                                         const float* up, float* dgate, float* dup,
                                                         int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; i += kLanes<V>) {
    const int64_t count = std::min(kLanes<V>, end - i);
    V d, g, u;
    load_lanes(d, dout + i, count);
    load_lanes(g, gate + i, count);
    load_lanes(u, up + i, count);
    V s = -g;
    exp_lanes(s);
    s = 1.0f / (1.0f + s);
    store_lanes(dup + i, d * g * s, count);
    store_lanes(dgate + i, d * u * s * (1.0f + g * (1.0f - s)), count);
  }
}

// The row's exponentials are summed lane by lane, then the lanes in order.
template <class V>
[[gnu::always_inline]] inline double cross_entropy_row_lanes(float* row, int64_t vocab,
                                                             int32_t target, float grad_scale) {
  V max_lanes;
  load_lanes(max_lanes, row, std::min(kLanes<V>, vocab), -INFINITY);
  for (int64_t v = kLanes<V>; v < vocab; v += kLanes<V>) {
    V x;
    load_lanes(x, row + v, std::min(kLanes<V>, vocab - v), -INFINITY);
    max_lanes = x > max_lanes ? x : max_lanes;
  }
  float max = max_lanes[0];
  for (int64_t l = 1; l < kLanes<V>; ++l) max = std::max(max, max_lanes[l]);
  const float target_logit = row[target];
  V sum_lanes = {};
  for (int64_t v = 0; v < vocab; v += kLanes<V>) {
    const int64_t count = std::min(kLanes<V>, vocab - v);
    V e;
    load_lanes(e, row + v, count);
    e -= max;
    exp_lanes(e);
    store_lanes(row + v, e, count);
    load_lanes(e, row + v, count);  // lanes past the row add zero
    sum_lanes += e;
  }
  double sum = 0;
  for (int64_t l = 0; l < kLanes<V>; ++l) sum += sum_lanes[l];
  if (grad_scale > 0) {
    const auto factor = static_cast<float>(grad_scale / sum);
    for (int64_t v = 0; v < vocab; v += kLanes<V>) {
      const int64_t count = std::min(kLanes<V>, vocab - v);
      V e;
      load_lanes(e, row + v, count);
      store_lanes(row + v, e * factor, count);
    }
    row[target] -= grad_scale;
  }
  return std::log(sum) - static_cast<double>(target_logit - max);
}

[[gnu::target("avx2,fma")]] void swiglu_backward_avx2(const float* dout, const float* gate,
                                                      const float* up, float* dgate, float* dup,
                                                      int64_t begin, int64_t end) {
  swiglu_backward_lanes<Lanes8>(dout, gate, up, dgate, dup, begin, end);
}
[[gnu::target("avx512f,avx2,fma")]] void swiglu_backward_avx512(const float* dout,
                                                                const float* gate, const float* up,
                                                                float* dgate, float* dup,
                                                                int64_t begin, int64_t end) {
  swiglu_backward_lanes<Lanes16>(dout, gate, up, dgate, dup, begin, end);
}
[[gnu::target("avx2,fma")]] double cross_entropy_row_avx2(float* row, int64_t vocab, int32_t target,
                                                          float grad_scale) {
  return cross_entropy_row_lanes<Lanes8>(row, vocab, target, grad_scale);
}
[[gnu::target("avx512f,avx2,fma")]] double cross_entropy_row_avx512(float* row, int64_t vocab,
                                                                    int32_t target,
                                                                    float grad_scale) {
  return cross_entropy_row_lanes<Lanes16>(row, vocab, target, grad_scale);
}

// Elementwise work goes to threads in whole blocks of 16 elements, so that which elements share
// a vector does not depend on the thread count.
void for_blocks(ThreadPool& pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  constexpr int64_t kBlock = 16;
  pool.parallel_for((n + kBlock - 1) / kBlock, [&](int64_t begin, int64_t end) {
    fn(begin * kBlock, std::min(end * kBlock, n));
  });
}

double mean_cross_entropy(ThreadPool& pool, float* logits, const int32_t* targets, int64_t n,
                          int64_t vocab, int64_t* counted, bool with_grad, Isa isa) {
  const auto row_fn = isa == Isa::kAvx512 ? cross_entropy_row_avx512
                      : isa == Isa::kAvx2 ? cross_entropy_row_avx2
                                          : cross_entropy_row_scalar;
  const int64_t count = std::count_if(targets, targets + n, [](int32_t t) { return t >= 0; });
  if (counted) *counted = count;
  const float scale = with_grad && count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
  std::vector<double> losses(static_cast<size_t>(n), 0.0);
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      float* row = logits + t * vocab;
      if (targets[t] >= 0) {
        losses[t] = row_fn(row, vocab, targets[t], scale);
      } else if (with_grad) {
        std::fill(row, row + vocab, 0.0f);
      }
    }
  });
  double total = 0;
  for (double l : losses) total += l;  // in row order, whatever the threads
  return count > 0 ? total / static_cast<double>(count) : 0.0;
}

}  // namespace

void swiglu_forward(ThreadPool& pool, const float* gate, const float* up, int64_t n, float* out,
                    Isa isa) {
  const Kernels& k = kernels_for(isa);
  for_blocks(pool, n, [&](int64_t begin, int64_t end) {
    k.swiglu(gate + begin, up + begin, out + begin, end - begin);
  });
}

void swiglu_backward(ThreadPool& pool, const float* dout, const float* gate, const float* up,
                     int64_t n, float* dgate, float* dup, Isa isa) {
  const auto fn = isa == Isa::kAvx512 ? swiglu_backward_avx512
                  : isa == Isa::kAvx2 ? swiglu_backward_avx2
                                      : swiglu_backward_scalar;
  for_blocks(pool, n,
             [&](int64_t begin, int64_t end) { fn(dout, gate, up, dgate, dup, begin, end); });
}

double cross_entropy(ThreadPool& pool, float* logits, const int32_t* targets, int64_t n,
                     int64_t vocab, int64_t* counted, Isa isa) {
  return mean_cross_entropy(pool, logits, targets, n, vocab, counted, true, isa);
}

double cross_entropy_loss(ThreadPool& pool, float* logits, const int32_t* targets, int64_t n,
                          int64_t vocab, int64_t* counted, Isa isa) {
  return mean_cross_entropy(pool, logits, targets, n, vocab, counted, false, isa);
}

}  // namespace kvscope::train
