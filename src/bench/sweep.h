#pragma once
// `kvscope bench sweep` (seed 001): every combination of prompt length, generation length and
// batch size as one workload, so that throughput, TTFT, TPOT and KV memory can be read along
// each axis, with and without the cache.
#include <vector>

#include "bench/workload.h"

namespace kvscope {

// Workloads named "p<prompt> g<generated> b<batch>"; the batch's prompts differ (each one starts
// further into the benchmark text).
std::vector<Workload> sweep_workloads(const Model& model, const std::vector<int>& prompt_tokens,
                                      const std::vector<int>& new_tokens,
                                      const std::vector<int>& batch_sizes);

}  // namespace kvscope
