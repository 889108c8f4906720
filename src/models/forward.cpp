#include "models/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/attention.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/ref/ops.h"

namespace kvscope {
namespace {

void add_bias(float* rows, const Vector& bias, int64_t n) {
  const size_t width = bias.size();
  for (int64_t i = 0; i < n; ++i)
    for (size_t j = 0; j < width; ++j) rows[i * width + j] += bias[j];
}

// RMSNorm of every `width`-wide run of `rows` (each head of each token) in place.
void norm_runs(float* rows, const Vector& weight, int64_t runs, float eps) {
  const auto width = static_cast<int64_t>(weight.size());
  for (int64_t i = 0; i < runs; ++i)
    kernels().rms_norm(rows + i * width, weight.data(), rows + i * width, width, eps);
}

void add_into(float* x, const float* delta, size_t count) {
  for (size_t i = 0; i < count; ++i) x[i] += delta[i];
}

// up = silu(gate) · up, in runs of 16 elements across the pool (each element's value is the same
// in any run), or on this thread for a few tokens' worth, where a pass of the pool costs more.
void swiglu_in_place(ThreadPool& pool, const float* gate, float* up, size_t count) {
  constexpr int64_t kVector = 16, kAlone = 1 << 14;
  const auto n = static_cast<int64_t>(count);
  const Kernels& k = kernels();
  if (n <= kAlone) return k.swiglu(gate, up, up, n);
  pool.parallel_for((n + kVector - 1) / kVector, [&](int64_t begin, int64_t end) {
    const int64_t first = begin * kVector;
    k.swiglu(gate + first, up + first, up + first, std::min(end * kVector, n) - first);
  });
}

}  // namespace

const std::vector<float>& Forward::run(std::span<const ForwardChunk> chunks, KvCache& cache) {
  const ModelConfig& c = model_.config();
  n_ = 0;
  token_seq_.clear();
  token_pos_.clear();
  for (const ForwardChunk& chunk : chunks) {
    for (size_t i = 0; i < chunk.tokens.size(); ++i) {
      token_seq_.push_back(chunk.seq);
      token_pos_.push_back(chunk.start_pos + static_cast<int>(i));
    }
    n_ += static_cast<int64_t>(chunk.tokens.size());
  }
  const auto rows = static_cast<size_t>(n_);
  x_.resize(rows * c.dim);
  xb_.resize(rows * c.dim);
  q_.resize(rows * c.q_dim());
  k_.resize(rows * c.kv_dim());
  v_.resize(rows * c.kv_dim());
  att_.resize(rows * c.q_dim());
  gate_.resize(rows * c.ffn_dim);
  up_.resize(rows * c.ffn_dim);
  if (c.arch == Architecture::kGpt2) qkv_.resize(rows * (c.q_dim() + 2 * c.kv_dim()));

  {
    ScopedOp op(observer_, OpKind::kEmbedding, -1);
    embed(chunks);  // x: [n][dim]
  }
  for (int layer = 0; layer < c.n_layers; ++layer) {
    attention_block(layer, chunks, cache);  // x += attention(norm(x))
    feed_forward_block(layer);              // x += ffn(norm(x))
  }
  compute_logits(chunks);
  pool_.rest();  // sampling and the callers' work come next, on this thread alone
  return logits_;
}

void Forward::embed(std::span<const ForwardChunk> chunks) {
  const ModelConfig& c = model_.config();
  const Kernels& k = kernels();
  int64_t t = 0;
  for (const ForwardChunk& chunk : chunks) {
    for (int32_t token : chunk.tokens) {
      float* row = &x_[t * c.dim];
      const TensorView& embedding = model_.token_embedding();
      k.dequantize_row(embedding.type, embedding.row(token), row, c.dim);
      if (c.embed_scale != 1.0f)
        for (int i = 0; i < c.dim; ++i) row[i] *= c.embed_scale;
      if (const TensorView* positions = model_.position_embedding()) {
        std::vector<float> position_row(c.dim);
        k.dequantize_row(positions->type, positions->row(token_pos_[t]), position_row.data(),
                         c.dim);
        add_into(row, position_row.data(), c.dim);
      }
      ++t;
    }
  }
}

void Forward::norm(const Vector& weight, const Vector& bias, const float* x, float* out,
                   int64_t rows) {
  const ModelConfig& c = model_.config();
  pool_.parallel_for(rows, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (c.norm == NormKind::kRmsNorm)
        kernels().rms_norm(x + i * c.dim, weight.data(), out + i * c.dim, c.dim, c.norm_eps);
      else
        ref::layer_norm(x + i * c.dim, weight.data(), bias.data(), out + i * c.dim, c.dim,
                        c.norm_eps);
    }
  });
}

void Forward::attention_block(int layer, std::span<const ForwardChunk> chunks, KvCache& cache) {
  const ModelConfig& c = model_.config();
  const LayerWeights& w = model_.layers()[layer];
  {
    ScopedOp op(observer_, OpKind::kNorm, layer);
    norm(w.attn_norm, w.attn_norm_bias, x_.data(), xb_.data(), n_);  // xb: [n][dim]
  }
  ScopedOp op(observer_, OpKind::kAttention, layer);
  const int q_dim = c.q_dim(), kv_dim = c.kv_dim();
  if (w.wqkv != nullptr) {
    matmul(pool_, *w.wqkv, xb_.data(), n_, qkv_.data(),
           precision_for(MatrixKind::kQkv));  // qkv: [n][q + 2 kv]
    add_bias(qkv_.data(), w.qkv_bias, n_);
    for (int64_t t = 0; t < n_; ++t) {
      const float* row = &qkv_[t * (q_dim + 2 * kv_dim)];
      std::memcpy(&q_[t * q_dim], row, q_dim * sizeof(float));
      std::memcpy(&k_[t * kv_dim], row + q_dim, kv_dim * sizeof(float));
      std::memcpy(&v_[t * kv_dim], row + q_dim + kv_dim, kv_dim * sizeof(float));
    }
  } else {
    // q: [n][n_heads head_dim], k and v: [n][kv_dim]
    const TensorView* const matrices[] = {w.wq, w.wk, w.wv};
    float* const outs[] = {q_.data(), k_.data(), v_.data()};
    matmul_shared_input(pool_, matrices, xb_.data(), n_, outs, precision_for(MatrixKind::kQkv));
  }
  if (!w.q_bias.empty()) add_bias(q_.data(), w.q_bias, n_);
  if (!w.k_bias.empty()) add_bias(k_.data(), w.k_bias, n_);
  if (!w.v_bias.empty()) add_bias(v_.data(), w.v_bias, n_);
  if (!w.q_norm.empty())  // each head of q and of k RMS-normed alone, before RoPE
    pool_.parallel_for(n_, [&](int64_t begin, int64_t end) {
      norm_runs(&q_[begin * q_dim], w.q_norm, (end - begin) * c.n_heads, c.norm_eps);
      norm_runs(&k_[begin * kv_dim], w.k_norm, (end - begin) * c.n_kv_heads, c.norm_eps);
    });
  if (c.rope) {
    // Each position's angles are computed once per run (again only for a layer of another base,
    // Gemma 3's local ones) and turn both q and k.
    const float base = c.layer_rope_base(layer);
    const bool fresh = layer == 0 || base != rope_base_;
    rope_base_ = base;
    rope_angles_.resize(static_cast<size_t>(n_) * c.rope_dims);
    const float* factors = c.rope_freq_factors.empty() ? nullptr : c.rope_freq_factors.data();
    pool_.parallel_for(n_, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        float* angles = &rope_angles_[t * c.rope_dims];
        if (fresh)
          ref::rope_angles(c.rope_dims, static_cast<float>(token_pos_[t]) / c.rope_scale, base,
                           factors, c.rope_mscale, angles);
        ref::rope_turn(&q_[t * q_dim], c.n_heads, c.head_dim, c.rope_dims, c.rope_neox, angles);
        ref::rope_turn(&k_[t * kv_dim], c.n_kv_heads, c.head_dim, c.rope_dims, c.rope_neox, angles);
      }
    });
  }

  if (observer_ != nullptr)
    for (int64_t i = 0; i < n_; ++i)
      observer_->on_query(layer, token_seq_[i], token_pos_[i],
                          std::span<const float>(&q_[i * q_dim], q_dim));
  // A q8_0 cache holds each head's keys and values turned by a Walsh-Hadamard rotation, as
  // llama.cpp's does: an outlier no longer sets the scale of its whole block of 32 values. The
  // queries turn alike, so the scores are the same, and the attention output turns back.
  const bool rotate = cache.shape().type == KvType::kQ8_0;
  const int rotation = c.head_dim & -c.head_dim;  // the largest power of two in a head
  if (rotate)
    pool_.parallel_for(n_, [&](int64_t begin, int64_t end) {
      ref::hadamard(&q_[begin * q_dim], (end - begin) * q_dim, rotation);
      ref::hadamard(&k_[begin * kv_dim], (end - begin) * kv_dim, rotation);
      ref::hadamard(&v_[begin * kv_dim], (end - begin) * kv_dim, rotation);
    });
  int64_t t = 0;
  for (const ForwardChunk& chunk : chunks) {
    const int count = static_cast<int>(chunk.tokens.size());
    cache.write(layer, chunk.seq, chunk.start_pos, count, &k_[t * kv_dim], &v_[t * kv_dim]);
    t += count;
  }
  attend(layer, cache);  // att: [n][n_heads head_dim]
  if (rotate)
    pool_.parallel_for(n_, [&](int64_t begin, int64_t end) {
      ref::hadamard(&att_[begin * q_dim], (end - begin) * q_dim, rotation);
    });
  matmul(pool_, *w.wo, att_.data(), n_, xb_.data(),
         precision_for(MatrixKind::kAttentionOut));  // xb: [n][dim]
  if (!w.wo_bias.empty()) add_bias(xb_.data(), w.wo_bias, n_);
  if (!w.post_attn_norm.empty()) norm(w.post_attn_norm, {}, xb_.data(), xb_.data(), n_);
  add_into(x_.data(), xb_.data(), static_cast<size_t>(n_) * c.dim);
}

// Causal attention of every token over its own sequence's cached positions [first, pos] (first > 0
// under a sliding window), reading the cache as stored through its block table: one task per run
// of up to kAttentionRun consecutive tokens of a sequence and KV head, so that a prompt's keys are
// read once per run rather than once per token.
void Forward::attend(int layer, const KvCache& cache) {
  constexpr int kAttentionRun = 8;
  const ModelConfig& c = model_.config();
  const Kernels& k = kernels();
  const int group = c.n_heads / c.n_kv_heads;
  const float scale =
      c.attn_scale > 0 ? c.attn_scale : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const DType type = kv_dtype(cache.shape().type);
  cached_rows_.resize(static_cast<size_t>(cache.shape().n_seqs));
  attention_runs_.clear();
  for (int64_t t = 0; t < n_; ++t) {  // a chunk's tokens are adjacent: one view per chunk
    const bool same_seq = t > 0 && token_seq_[t] == token_seq_[t - 1];
    if (!same_seq) cached_rows_[token_seq_[t]] = cache.view(layer, token_seq_[t]);
    const bool next_pos = same_seq && token_pos_[t] == token_pos_[t - 1] + 1;
    if (next_pos && t - attention_runs_.back() < kAttentionRun) continue;
    attention_runs_.push_back(t);
  }
  const auto runs = static_cast<int64_t>(attention_runs_.size());
  attention_runs_.push_back(n_);  // run r is tokens [attention_runs_[r], attention_runs_[r + 1])
  pool_.parallel_for(runs * c.n_kv_heads, [&](int64_t begin, int64_t end) {
    thread_local AttentionScratch scratch;
    for (int64_t task = begin; task < end; ++task) {
      // The last runs first: they attend to the most positions, and the pool's threads claim
      // chunks in order, so the light ones are left to balance the end.
      const int64_t run = runs - 1 - task / c.n_kv_heads;
      const int64_t t = attention_runs_[run];
      const auto tokens = static_cast<int>(attention_runs_[run + 1] - t);
      const int kv_head = static_cast<int>(task % c.n_kv_heads);
      const int64_t first_query =
          t * c.q_dim() + static_cast<int64_t>(kv_head) * group * c.head_dim;
      const AttentionHeads heads{&q_[first_query],
                                 cached_rows_[token_seq_[t]],
                                 dtype_bytes(type, static_cast<size_t>(kv_head) * c.head_dim),
                                 group,
                                 c.head_dim,
                                 token_pos_[t] + 1,
                                 c.first_visible(layer, token_pos_[t]),
                                 tokens,
                                 c.q_dim(),
                                 c.slides(layer) ? c.sliding_window : 0};
      attend_heads(k, heads, scale, scratch, &att_[first_query]);
    }
  });
}

void Forward::feed_forward_block(int layer) {
  const ModelConfig& c = model_.config();
  const LayerWeights& w = model_.layers()[layer];
  {
    ScopedOp op(observer_, OpKind::kNorm, layer);
    norm(w.ffn_norm, w.ffn_norm_bias, x_.data(), xb_.data(), n_);  // xb: [n][dim]
  }
  ScopedOp op(observer_, OpKind::kFeedForward, layer);
  const size_t hidden = static_cast<size_t>(n_) * c.ffn_dim;
  const bool gated = c.activation == Activation::kSwiGlu || c.activation == Activation::kGeGlu;
  {  // up, and gate when gated: [n][ffn]
    const TensorView* const matrices[] = {w.w_up, w.w_gate};
    float* const outs[] = {up_.data(), gate_.data()};
    matmul_shared_input(pool_, std::span(matrices, gated ? 2 : 1), xb_.data(), n_,
                        std::span(outs, gated ? 2 : 1), precision_for(MatrixKind::kFeedForwardIn));
  }
  if (c.activation == Activation::kSwiGlu) {
    swiglu_in_place(pool_, gate_.data(), up_.data(), hidden);
  } else if (c.activation == Activation::kGeGlu) {
    ref::gelu_tanh(gate_.data(), static_cast<int64_t>(hidden));
    for (size_t i = 0; i < hidden; ++i) up_[i] *= gate_[i];
  } else {
    add_bias(up_.data(), w.up_bias, n_);
    ref::gelu_tanh(up_.data(), static_cast<int64_t>(hidden));
  }
  matmul(pool_, *w.w_down, up_.data(), n_, xb_.data(),
         precision_for(MatrixKind::kFeedForwardDown));  // xb: [n][dim]
  if (!w.down_bias.empty()) add_bias(xb_.data(), w.down_bias, n_);
  if (!w.post_ffn_norm.empty()) norm(w.post_ffn_norm, {}, xb_.data(), xb_.data(), n_);
  add_into(x_.data(), xb_.data(), static_cast<size_t>(n_) * c.dim);
}

Precision Forward::precision_for(MatrixKind kind) const {
  if (!is_fast_path(precision_)) return precision_;
  if (split_kinds_ & matrix_kind_bit(kind)) return Precision::kSplit;
  // The fast path's head takes 16-bit activations where its weights allow (Q8_0): with 8 bits
  // there the head alone gave most of the fast path's KL divergence from the exact one.
  return kind == MatrixKind::kOutputHead && model_.output().type == DType::kQ8_0 ? Precision::kWide
                                                                                 : precision_;
}

void Forward::compute_logits(std::span<const ForwardChunk> chunks) {
  const ModelConfig& c = model_.config();
  // Only the rows whose logits are wanted go through the final norm and the output head.
  std::vector<int64_t> wanted;
  int64_t t = 0;
  for (const ForwardChunk& chunk : chunks) {
    const auto count = static_cast<int64_t>(chunk.tokens.size());
    const int64_t first = chunk.logits == ForwardChunk::Logits::kAll ? 0 : count - 1;
    if (chunk.logits != ForwardChunk::Logits::kNone)
      for (int64_t i = first; i < count; ++i) wanted.push_back(t + i);
    t += count;
  }
  const auto n_out = static_cast<int64_t>(wanted.size());
  logits_.resize(static_cast<size_t>(n_out) * c.vocab_size);
  if (n_out == 0) return;
  out_rows_.resize(static_cast<size_t>(n_out) * c.dim);
  for (int64_t i = 0; i < n_out; ++i)
    std::memcpy(&out_rows_[i * c.dim], &x_[wanted[i] * c.dim], c.dim * sizeof(float));
  {
    ScopedOp op(observer_, OpKind::kNorm, -1);
    norm(model_.output_norm(), model_.output_norm_bias(), out_rows_.data(), out_rows_.data(),
         n_out);
  }
  ScopedOp op(observer_, OpKind::kOutputHead, -1);
  matmul(pool_, model_.output(), out_rows_.data(), n_out, logits_.data(),
         precision_for(MatrixKind::kOutputHead));
  if (c.logit_softcap > 0)  // Gemma: cap * tanh(logits / cap)
    for (float& l : logits_) l = c.logit_softcap * std::tanh(l / c.logit_softcap);
}

}  // namespace kvscope
