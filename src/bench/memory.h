#pragma once
// `kvscope bench memory`: what each KV strategy does with a fixed KV budget under a mix of
// requests of different prompt and output lengths, all queued at once. Contiguous reservation
// (prealloc) holds every request's prompt plus its declared max_tokens from the start; the paged
// pool takes a block only when a sequence grows into it. Reported per strategy: the reserved
// memory not holding a live token (waste), the most requests in flight, throughput and latency,
// with every strategy's outputs verified identical. Beside them, the closed batches that a
// contiguous cache can run in the same budget (every size up to the largest that fits, each batch
// sent when the one before it has ended): the baseline continuous batching is measured against.
#include <string>
#include <vector>

#include "bench/serving.h"
#include "bench/workload.h"

namespace kvscope {

struct MemoryBenchOptions {
  int requests = 32;
  int min_prompt = 16, max_prompt = 256;  // uniform prompt lengths
  int min_output = 8, max_output = 128;   // uniform output lengths
  int max_tokens = 256;                   // declared by every request
  uint64_t seed = 1;
  std::string
      mix_file;  // JSON [{"prompt_tokens": P, "output_tokens": O, "max_tokens": M}, ...] instead
  size_t budget_mib = 64;
  int max_seqs = 32, max_batch_tokens = 512, block_size = 16;
  bool fixed_batches = true;  // also measure closed batches on prealloc
  MeasureOptions measure = {
      .kv_type = KvType::kF16,
      .strategies = {CacheStrategy::kConcat, CacheStrategy::kPrealloc, CacheStrategy::kPaged}};
};

struct MemoryStrategyResult {
  CacheStrategy strategy = CacheStrategy::kPaged;
  int fixed_batch = 0;  // > 0: closed batches of this many requests (on prealloc)
  ServedResult first;   // memory figures, outputs and latencies of the first measured run
  Summary seconds, throughput_tps;  // over the measured runs
  bool identical = true;            // outputs and logits equal the first strategy's
};

struct MemoryBenchResult {
  std::vector<ServedRequest> mix;
  std::vector<MemoryStrategyResult> strategies;  // empty when interrupted before one full round
  int repetitions_done = 0;
  bool interrupted = false;
  bool all_identical = true;
};

std::vector<ServedRequest> memory_mix(const Model& model, const MemoryBenchOptions& options);
// The closed-batch sizes measured: powers of two below the largest batch whose contiguous
// reservations (each `longest` positions) fit the budget, then that largest one.
std::vector<int> fixed_batch_sizes(const Model& model, const MemoryBenchOptions& options,
                                   int longest, int requests);
MemoryBenchResult run_memory_bench(const Model& model, const MemoryBenchOptions& options,
                                   const std::function<void(int, int)>& on_progress = {});

}  // namespace kvscope
