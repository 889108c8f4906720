#pragma once
// `kvscope bench kv-compare`: the cache strategies side by side on the same model, prompt and
// lengths (seed 003), measured alternately, with the outputs verified identical and seed 003's
// complexity analysis.
#include <functional>
#include <optional>
#include <vector>

#include "bench/workload.h"

namespace kvscope {

struct KvCompareOptions {
  int prompt_tokens = 50;
  int new_tokens = 100;
  MeasureOptions measure = {.strategies = {CacheStrategy::kNone, CacheStrategy::kConcat,
                                           CacheStrategy::kPrealloc, CacheStrategy::kPaged}};
  std::optional<CacheStrategy>
      baseline;  // what speedups are measured against; default: the first strategy
};

struct KvCompareResult {
  KvCompareOptions options;
  Workload workload;                    // "p<prompt> g<new> b1": one sequence
  std::vector<Measurement> strategies;  // empty when interrupted before one full round
  CacheStrategy baseline = CacheStrategy::kNone;
  std::vector<double> speedups;  // per strategy: the baseline's median time / its own
  int repetitions_done = 0;
  bool interrupted = false;
  // Seed 003's complexity analysis: tokens pushed through the model, without and with a cache.
  int64_t token_ops_without_cache = 0;
  int64_t token_ops_with_cache = 0;
  double theoretical_speedup = 0;
  // The fastest cached strategy against `none`, whatever the baseline and the order (0 when
  // `none` or every cached strategy is missing).
  CacheStrategy fastest = CacheStrategy::kNone;
  double measured_speedup = 0;
  double efficiency = 0;  // measured / theoretical
  bool all_identical = true;
};

// `on_progress(done, total)` is called after each run.
KvCompareResult run_kv_compare(const Model& model, const KvCompareOptions& options,
                               const std::function<void(int, int)>& on_progress = {});

}  // namespace kvscope
