#include "bench/kv_compare.h"

#include <fmt/format.h>

#include "core/error.h"

namespace kvscope {

KvCompareResult run_kv_compare(const Model& model, const KvCompareOptions& o,
                               const std::function<void(int, int)>& on_progress) {
  if (o.prompt_tokens < 1 || o.new_tokens < 1) fail("kv-compare needs a prompt and new tokens");
  KvCompareResult result;
  result.options = o;
  result.workload = {fmt::format("p{} g{} b1", o.prompt_tokens, o.new_tokens), {benchmark_prompt(model, o.prompt_tokens)},
                     o.new_tokens};
  MeasureResult measured = measure_workloads(model, {result.workload}, o.measure, on_progress);
  result.repetitions_done = measured.repetitions_done;
  result.interrupted = measured.interrupted;
  result.all_identical = measured.all_identical;
  const int64_t p = o.prompt_tokens, g = o.new_tokens;
  // Without a cache, step t feeds all p + t tokens; with one, each token is fed once.
  result.token_ops_without_cache = g * p + g * (g - 1) / 2;
  result.token_ops_with_cache = p + g;
  result.theoretical_speedup = static_cast<double>(result.token_ops_without_cache) / result.token_ops_with_cache;
  if (measured.workloads.empty()) return result;
  result.strategies = std::move(measured.workloads.front().strategies);
  result.measured_speedup = result.strategies.front().seconds.median / result.strategies.back().seconds.median;
  result.efficiency = result.measured_speedup / result.theoretical_speedup;
  return result;
}

}  // namespace kvscope
