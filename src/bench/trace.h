#pragma once
// `kvscope bench trace`: seed 001's per-token latency trace. Each cache strategy generates the
// same greedy continuation several times (strategies alternated); the latency of every token
// (TTFT for the first, then each gap) is averaged over the runs, token by token.
#include <functional>
#include <vector>

#include "generate/session.h"

namespace kvscope {

struct TraceOptions {
  int prompt_tokens = 50;
  int new_tokens = 100;
  int repetitions = 5;
  int warmup = 1;
  int threads = 2;
  KvType kv_type = KvType::kF32;
  Precision precision = Precision::kFast;
  std::vector<CacheStrategy> strategies = {CacheStrategy::kNone, CacheStrategy::kPrealloc};
};

struct StrategyTrace {
  CacheStrategy strategy = CacheStrategy::kPrealloc;
  std::vector<double> mean_latency_s;  // per generated token, averaged over the repetitions
  std::vector<double> min_latency_s;
  std::vector<double> max_latency_s;
};

std::vector<StrategyTrace> run_trace(const Model& model, const TraceOptions& options,
                                     const std::function<void(int, int)>& on_progress = {});

}  // namespace kvscope
