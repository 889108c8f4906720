#include "train/network.h"

#include <algorithm>

#include "train/matmul.h"

namespace kvscope::train {
namespace {

std::vector<float> zeros(int64_t n) { return std::vector<float>(static_cast<size_t>(n), 0.0f); }

void add_into(ThreadPool& pool, float* y, const float* x, int64_t n) {
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] += x[i];
  });
}

}  // namespace

Network::Network(const TrainConfig& config, int batch, int seq_len)
    : c_(config),
      shape_{batch, seq_len, config.n_heads, config.n_kv_heads, config.head_dim()},
      n_(static_cast<int64_t>(batch) * seq_len),
      rope_(seq_len, config.head_dim(), config.rope_base) {
  const int64_t d = c_.dim, f = c_.ffn_dim, qd = c_.q_dim(), kvd = c_.kv_dim();
  const int64_t probs = static_cast<int64_t>(batch) * c_.n_heads * seq_len * seq_len;
  for (int l = 0; l < c_.n_layers; ++l)
    layers_.push_back({zeros(n_ * d), zeros(n_ * d), zeros(n_), zeros(n_ * qd), zeros(n_ * kvd),
                       zeros(n_ * kvd), zeros(probs), zeros(n_ * qd), zeros(n_ * d), zeros(n_ * d),
                       zeros(n_), zeros(n_ * f), zeros(n_ * f), zeros(n_ * f)});
  output_ = zeros(n_ * d);
  final_norm_ = zeros(n_ * d);
  final_rstd_ = zeros(n_);
  logits_ = zeros(n_ * c_.vocab_size);
  d_resid_ = zeros(n_ * d);
  d_norm_ = zeros(n_ * d);
  d_att_ = zeros(n_ * qd);
  d_q_ = zeros(n_ * qd);
  d_k_ = zeros(n_ * kvd);
  d_v_ = zeros(n_ * kvd);
  d_h_ = zeros(n_ * f);
  d_gate_ = zeros(n_ * f);
  d_up_ = zeros(n_ * f);
}

void Network::layer_forward(ThreadPool& pool, const LayerTensors<const float>& w, Layer& a,
                            float* out) {
  const int64_t d = c_.dim, f = c_.ffn_dim, qd = c_.q_dim(), kvd = c_.kv_dim();
  rms_norm_forward(pool, a.input.data(), w.attn_norm, n_, d, c_.norm_eps, a.norm1.data(),
                   a.rstd1.data());
  linear_forward(pool, a.norm1.data(), w.wq, n_, d, qd, a.q.data());
  linear_forward(pool, a.norm1.data(), w.wk, n_, d, kvd, a.k.data());
  linear_forward(pool, a.norm1.data(), w.wv, n_, d, kvd, a.v.data());
  rope_apply(pool, rope_, a.q.data(), n_, shape_.seq_len, c_.n_heads, false);
  rope_apply(pool, rope_, a.k.data(), n_, shape_.seq_len, c_.n_kv_heads, false);
  attention_forward(pool, shape_, a.q.data(), a.k.data(), a.v.data(), a.att.data(), a.probs.data());
  linear_forward(pool, a.att.data(), w.wo, n_, qd, d, a.mid.data());
  add_into(pool, a.mid.data(), a.input.data(), n_ * d);  // mid = input + attention
  rms_norm_forward(pool, a.mid.data(), w.ffn_norm, n_, d, c_.norm_eps, a.norm2.data(),
                   a.rstd2.data());
  linear_forward(pool, a.norm2.data(), w.gate, n_, d, f, a.gate.data());
  linear_forward(pool, a.norm2.data(), w.up, n_, d, f, a.up.data());
  swiglu_forward(pool, a.gate.data(), a.up.data(), n_ * f, a.h.data());
  linear_forward(pool, a.h.data(), w.down, n_, f, d, out);
  add_into(pool, out, a.mid.data(), n_ * d);  // out = mid + feed-forward
}

double Network::forward(ThreadPool& pool, const float* params, const int32_t* tokens,
                        const int32_t* targets, bool for_backward) {
  const ModelTensors<const float> w = bind(c_, params);
  const int64_t d = c_.dim;
  tokens_.assign(tokens, tokens + n_);
  embedding_forward(w.embed, tokens, n_, d,
                    layers_.empty() ? output_.data() : layers_[0].input.data());
  for (int l = 0; l < c_.n_layers; ++l) {
    float* out = l + 1 < c_.n_layers ? layers_[l + 1].input.data() : output_.data();
    layer_forward(pool, w.layers[l], layers_[l], out);
  }
  rms_norm_forward(pool, output_.data(), w.final_norm, n_, d, c_.norm_eps, final_norm_.data(),
                   final_rstd_.data());
  linear_forward(pool, final_norm_.data(), w.head, n_, d, c_.vocab_size, logits_.data());
  return for_backward
             ? cross_entropy(pool, logits_.data(), targets, n_, c_.vocab_size, &counted_)
             : cross_entropy_loss(pool, logits_.data(), targets, n_, c_.vocab_size, &counted_);
}

void Network::layer_backward(ThreadPool& pool, const LayerTensors<const float>& w,
                             const LayerTensors<float>& g, Layer& a, float* d_out) {
  const int64_t d = c_.dim, f = c_.ffn_dim, qd = c_.q_dim(), kvd = c_.kv_dim();
  // Feed-forward: out = mid + down(swiglu(gate(norm2), up(norm2))).
  linear_backward_weight(pool, d_out, a.h.data(), n_, f, d, g.down);
  linear_backward_input(pool, d_out, w.down, n_, f, d, d_h_.data(), false);
  swiglu_backward(pool, d_h_.data(), a.gate.data(), a.up.data(), n_ * f, d_gate_.data(),
                  d_up_.data());
  linear_backward_weight(pool, d_gate_.data(), a.norm2.data(), n_, d, f, g.gate);
  linear_backward_weight(pool, d_up_.data(), a.norm2.data(), n_, d, f, g.up);
  linear_backward_input(pool, d_gate_.data(), w.gate, n_, d, f, d_norm_.data(), false);
  linear_backward_input(pool, d_up_.data(), w.up, n_, d, f, d_norm_.data(), true);
  // d_out becomes d(mid): the residual path plus the norm's.
  rms_norm_backward(pool, d_norm_.data(), a.mid.data(), w.ffn_norm, a.rstd2.data(), n_, d, d_out,
                    g.ffn_norm);
  // Attention: mid = input + o(attention(rope(q(norm1)), rope(k(norm1)), v(norm1))).
  linear_backward_weight(pool, d_out, a.att.data(), n_, qd, d, g.wo);
  linear_backward_input(pool, d_out, w.wo, n_, qd, d, d_att_.data(), false);
  attention_backward(pool, shape_, d_att_.data(), a.q.data(), a.k.data(), a.v.data(),
                     a.probs.data(), d_q_.data(), d_k_.data(), d_v_.data());
  rope_apply(pool, rope_, d_q_.data(), n_, shape_.seq_len, c_.n_heads, true);
  rope_apply(pool, rope_, d_k_.data(), n_, shape_.seq_len, c_.n_kv_heads, true);
  linear_backward_weight(pool, d_q_.data(), a.norm1.data(), n_, d, qd, g.wq);
  linear_backward_weight(pool, d_k_.data(), a.norm1.data(), n_, d, kvd, g.wk);
  linear_backward_weight(pool, d_v_.data(), a.norm1.data(), n_, d, kvd, g.wv);
  linear_backward_input(pool, d_q_.data(), w.wq, n_, d, qd, d_norm_.data(), false);
  linear_backward_input(pool, d_k_.data(), w.wk, n_, d, kvd, d_norm_.data(), true);
  linear_backward_input(pool, d_v_.data(), w.wv, n_, d, kvd, d_norm_.data(), true);
  // d_out becomes d(input).
  rms_norm_backward(pool, d_norm_.data(), a.input.data(), w.attn_norm, a.rstd1.data(), n_, d, d_out,
                    g.attn_norm);
}

void Network::backward(ThreadPool& pool, const float* params, float* grads) {
  const ModelTensors<const float> w = bind(c_, params);
  const ModelTensors<float> g = bind(c_, grads);
  const int64_t d = c_.dim;
  // logits_ holds ∂loss/∂logits (forward with for_backward).
  linear_backward_weight(pool, logits_.data(), final_norm_.data(), n_, d, c_.vocab_size, g.head);
  linear_backward_input(pool, logits_.data(), w.head, n_, d, c_.vocab_size, d_norm_.data(), false);
  std::fill(d_resid_.begin(), d_resid_.end(), 0.0f);
  rms_norm_backward(pool, d_norm_.data(), output_.data(), w.final_norm, final_rstd_.data(), n_, d,
                    d_resid_.data(), g.final_norm);
  for (int l = c_.n_layers - 1; l >= 0; --l)
    layer_backward(pool, w.layers[l], g.layers[l], layers_[l], d_resid_.data());
  embedding_backward(pool, d_resid_.data(), tokens_.data(), n_, d, g.embed);
}

}  // namespace kvscope::train
