#pragma once
// `kvscope bench kv-compare`: the cache strategies side by side on the same model, prompt and
// lengths (seed 003), measured alternately so that drift cancels, with the outputs verified
// identical (token ids and a hash of every step's logits) and seed 003's complexity analysis.
#include <string>
#include <vector>

#include "generate/session.h"
#include "metrics/stats.h"

namespace kvscope {

struct KvCompareOptions {
  int prompt_tokens = 50;
  int new_tokens = 100;
  int repetitions = 3;
  int warmup = 1;
  int threads = 2;
  KvType kv_type = KvType::kF32;
  Precision precision = Precision::kFast;
  std::vector<CacheStrategy> strategies = {CacheStrategy::kNone, CacheStrategy::kConcat, CacheStrategy::kPrealloc};
};

struct StrategyMeasurement {
  CacheStrategy strategy = CacheStrategy::kPrealloc;
  Summary seconds;     // end-to-end time of the whole generation
  Summary ttft_s;
  Summary tpot_s;
  Summary output_tps;  // generated tokens / end-to-end time
  uint64_t kv_bytes_reserved = 0;  // at the end of a run
  std::vector<int32_t> output;
  uint64_t logits_hash = 0;  // FNV-1a of every step's logits, bit for bit
  bool repeatable = true;    // every repetition gave the same output and hash
  bool identical = true;     // repeatable, and output and logits_hash equal the first strategy's
};

struct KvCompareResult {
  KvCompareOptions options;
  std::vector<int32_t> prompt;
  std::vector<StrategyMeasurement> strategies;
  // Seed 003's complexity analysis: tokens pushed through the model, without and with a cache.
  int64_t token_ops_without_cache = 0;
  int64_t token_ops_with_cache = 0;
  double theoretical_speedup = 0;
  double measured_speedup = 0;  // median time without cache / median time with the last strategy
  double efficiency = 0;        // measured / theoretical
  bool all_identical = true;
};

// Marks each strategy identical or not to the first one (same output ids and logits hash, and
// every repetition the same as its first); returns whether all are.
bool verify_identical(std::vector<StrategyMeasurement>& strategies);

// Greedy generation of exactly new_tokens after `prompt` in a fresh single-sequence session with
// the given cache: the run every suite times. Reports the cache's reserved bytes at the end.
GenerationResult generate_exactly(const Model& model, const std::vector<int32_t>& prompt, CacheStrategy cache,
                                  KvType kv_type, Precision precision, int threads, int new_tokens,
                                  const LogitsCallback& on_logits = {}, uint64_t* kv_bytes_reserved = nullptr);

// A prompt of exactly n tokens: a fixed English text, repeated as needed.
std::vector<int32_t> benchmark_prompt(const Model& model, int n);

// `on_progress(done, total)` is called after each run.
KvCompareResult run_kv_compare(const Model& model, const KvCompareOptions& options,
                               const std::function<void(int, int)>& on_progress = {});

}  // namespace kvscope
