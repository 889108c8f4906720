#pragma once
// `kvscope bench trace`: seed 001's per-token latency trace. Each cache strategy generates the
// same greedy continuation several times (strategies alternated); the latency of every token
// (TTFT for the first, then each gap) is averaged over the runs, token by token.
#include <functional>
#include <vector>

#include "bench/workload.h"

namespace kvscope {

struct TraceOptions {
  int prompt_tokens = 50;
  int new_tokens = 100;
  MeasureOptions measure = {.repetitions = 5};
};

struct StrategyTrace {
  CacheStrategy strategy = CacheStrategy::kPrealloc;
  std::vector<double> mean_latency_s;  // per generated token, over the measured runs
  std::vector<double> min_latency_s;
  std::vector<double> max_latency_s;
};

struct TraceResult {
  std::vector<StrategyTrace> strategies;
  int repetitions_done = 0;
  bool interrupted = false;
};

TraceResult run_trace(const Model& model, const TraceOptions& options,
                      const std::function<void(int, int)>& on_progress = {});

}  // namespace kvscope
