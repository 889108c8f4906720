#pragma once
// `kvscope bench faithfulness`: how far a configuration (by default the fast path, int8
// activations, with an f32 KV cache; or any precision with an f16 or q8_0 cache) strays from the
// exact path (f32 activations over the same dequantized weights, f32 cache), measured as
// llama.cpp's `llama-perplexity --kl-divergence` does: the text is cut into chunks of n_ctx tokens,
// each is scored by both paths, and the second half of every chunk is compared position by
// position.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "kvcache/kv_cache.h"
#include "metrics/stats.h"
#include "models/model.h"

namespace kvscope {

struct FaithfulnessOptions {
  int n_ctx = 512;
  int max_tokens = 4096;  // of the text, from its start
  int threads = 2;
};

// A configuration compared against the exact path (f32 activations, f32 cache).
struct FaithfulnessConfig {
  Precision precision = Precision::kFast;
  MatrixKinds split_kinds = 0;  // fast precision: kinds whose activations are split
  KvType kv_type = KvType::kF32;
};

struct FaithfulnessResult {
  int positions = 0;     // compared positions
  double same_top1 = 0;  // share of positions where both paths' most likely token agree
  Summary kl;            // KL(exact || compared) per position, in nats
  double perplexity_exact = 0;
  double perplexity_fast = 0;  // of the compared configuration
};

// One result per configuration, in order; the exact path scores each chunk once for all of them.
std::vector<FaithfulnessResult> measure_faithfulness(
    const Model& model, const std::vector<int32_t>& tokens, const FaithfulnessOptions& options,
    std::span<const FaithfulnessConfig> configs,
    const std::function<void(int, int)>& on_progress = {});

}  // namespace kvscope
