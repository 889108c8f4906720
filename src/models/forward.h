#pragma once
// The forward pass of every supported family, for a batch of sequence chunks in one call.
// Prefill and decode are the same code: decode is a chunk of one token.
#include <cstdint>
#include <span>
#include <vector>

#include "core/observer.h"
#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kvcache/kv_cache.h"
#include "models/model.h"

namespace kvscope {

struct ForwardChunk {
  int seq = 0;        // the sequence's slot in the KV cache
  int start_pos = 0;  // position of tokens[0]; positions before it are already in the cache
  std::vector<int32_t> tokens;
  enum class Logits {
    kNone,
    kLast,
    kAll
  } logits = Logits::kLast;  // which tokens' logits are wanted
};

class Forward {
 public:
  // split_kinds: on the fast path, the matrix kinds whose activations are split (kSplit).
  Forward(const Model& model, ThreadPool& pool, Precision precision, MatrixKinds split_kinds = 0,
          Observer* observer = nullptr)
      : model_(model),
        pool_(pool),
        precision_(precision),
        split_kinds_(split_kinds),
        observer_(observer) {}

  // Runs the chunks, writes their keys and values into `cache`, and returns the logits: per
  // chunk, in order, vocab_size values for its last token, for each of its tokens, or none.
  const std::vector<float>& run(std::span<const ForwardChunk> chunks, KvCache& cache);
  void set_observer(Observer* observer) { observer_ = observer; }

 private:
  void embed(std::span<const ForwardChunk> chunks);
  void attention_block(int layer, std::span<const ForwardChunk> chunks, KvCache& cache);
  void feed_forward_block(int layer);
  void attend(int layer, const KvCache& cache);
  void norm(const Vector& weight, const Vector& bias, const float* x, float* out, int64_t rows);
  void compute_logits(std::span<const ForwardChunk> chunks);
  Precision precision_for(MatrixKind kind) const;

  const Model& model_;
  ThreadPool& pool_;
  Precision precision_;
  MatrixKinds split_kinds_;
  Observer* observer_;
  int64_t n_ = 0;  // tokens in this call
  std::vector<int> token_seq_, token_pos_;
  // Activations, [n_][width] each.
  std::vector<float> x_, xb_, q_, k_, v_, qkv_, att_, gate_, up_;
  std::vector<float> out_rows_, logits_;
  std::vector<float> rope_angles_;       // [n][rope_dims]: each token's cos and sin pairs
  float rope_base_ = 0.0f;               // the base rope_angles_ were computed for
  std::vector<CachedRows> cached_rows_;  // per cache slot of this call's sequences
  std::vector<int64_t> attention_runs_;  // each run's first token, then n_
};

}  // namespace kvscope
