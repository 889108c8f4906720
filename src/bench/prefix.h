#pragma once
// `kvscope bench prefix`: requests that share a long system prompt and differ in a short suffix,
// on the paged cache without and with prefix reuse: TTFT, throughput, the share of prompt tokens
// reused, and the outputs verified identical.
#include <functional>
#include <vector>

#include "bench/serving.h"
#include "bench/workload.h"

namespace kvscope {

struct PrefixBenchOptions {
  int requests = 8;
  int shared_tokens = 1024;
  int suffix_tokens = 64;
  int new_tokens = 16;
  int concurrency = 1;  // requests in flight; 0: all queued at once
  int max_batch_tokens = 512, block_size = 16;
  MeasureOptions measure = {.kv_type = KvType::kF16};
};

struct PrefixBenchResult {
  ServedResult without_reuse, with_reuse;  // the first measured run of each
  Summary seconds_without, seconds_with;   // over the measured runs
  double ttft_speedup = 0;                 // median TTFT without reuse / with
  double hit_rate = 0;                     // prompt tokens reused / prompt tokens, with reuse
  int repetitions_done = 0;
  bool interrupted = false;
  bool identical = true;
};

std::vector<ServedRequest> prefix_requests(const Model& model, const PrefixBenchOptions& options);
PrefixBenchResult run_prefix_bench(const Model& model, const PrefixBenchOptions& options,
                                   const std::function<void(int, int)>& on_progress = {});

}  // namespace kvscope
