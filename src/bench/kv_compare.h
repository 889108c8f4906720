#pragma once
// `kvscope bench kv-compare`: the cache strategies side by side on the same model, prompt and
// lengths (seed 003), measured alternately, with the outputs verified identical and seed 003's
// complexity analysis.
#include <functional>
#include <vector>

#include "bench/workload.h"

namespace kvscope {

struct KvCompareOptions {
  int prompt_tokens = 50;
  int new_tokens = 100;
  MeasureOptions measure = {.strategies = {CacheStrategy::kNone, CacheStrategy::kConcat, CacheStrategy::kPrealloc}};
};

struct KvCompareResult {
  KvCompareOptions options;
  Workload workload;  // "p<prompt> g<new> b1": one sequence
  std::vector<Measurement> strategies;  // empty when interrupted before one full round
  int repetitions_done = 0;
  bool interrupted = false;
  // Seed 003's complexity analysis: tokens pushed through the model, without and with a cache.
  int64_t token_ops_without_cache = 0;
  int64_t token_ops_with_cache = 0;
  double theoretical_speedup = 0;
  double measured_speedup = 0;  // median time of the first strategy / median time of the last
  double efficiency = 0;        // measured / theoretical
  bool all_identical = true;
};

// `on_progress(done, total)` is called after each run.
KvCompareResult run_kv_compare(const Model& model, const KvCompareOptions& options,
                               const std::function<void(int, int)>& on_progress = {});

}  // namespace kvscope
