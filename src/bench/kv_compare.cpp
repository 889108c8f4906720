#include "bench/kv_compare.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"

namespace kvscope {

KvCompareResult run_kv_compare(const Model& model, const KvCompareOptions& o,
                               const std::function<void(int, int)>& on_progress) {
  if (o.prompt_tokens < 1 || o.new_tokens < 1) fail("kv-compare needs a prompt and new tokens");
  const std::vector<CacheStrategy>& names = o.measure.strategies;
  const auto index_of = [&](CacheStrategy s) {
    return std::find(names.begin(), names.end(), s) - names.begin();
  };
  if (names.empty()) fail("kv-compare needs strategies");
  KvCompareResult result;
  result.options = o;
  result.baseline = o.baseline.value_or(names.front());
  if (index_of(result.baseline) == static_cast<ptrdiff_t>(names.size()))
    fail("the baseline '{}' is not one of the strategies measured", strategy_name(result.baseline));
  result.workload = {fmt::format("p{} g{} b1", o.prompt_tokens, o.new_tokens),
                     {benchmark_prompt(model, o.prompt_tokens)},
                     o.new_tokens};
  MeasureResult measured = measure_workloads(model, {result.workload}, o.measure, on_progress);
  result.repetitions_done = measured.repetitions_done;
  result.interrupted = measured.interrupted;
  result.all_identical = measured.all_identical;
  const int64_t p = o.prompt_tokens, g = o.new_tokens;
  // Without a cache, step t feeds all p + t tokens; with one, each token is fed once, but the
  // last sampled token is never fed back.
  result.token_ops_without_cache = g * p + g * (g - 1) / 2;
  result.token_ops_with_cache = p + g - 1;
  result.theoretical_speedup =
      static_cast<double>(result.token_ops_without_cache) / result.token_ops_with_cache;
  if (measured.workloads.empty()) return result;
  result.strategies = std::move(measured.workloads.front().strategies);
  const double base = result.strategies[index_of(result.baseline)].seconds.median;
  for (const Measurement& m : result.strategies) result.speedups.push_back(base / m.seconds.median);
  const ptrdiff_t none = index_of(CacheStrategy::kNone);
  for (const Measurement& m : result.strategies) {
    if (none == static_cast<ptrdiff_t>(names.size()) || m.strategy == CacheStrategy::kNone)
      continue;
    const double speedup = result.strategies[none].seconds.median / m.seconds.median;
    if (speedup <= result.measured_speedup) continue;
    result.fastest = m.strategy;
    result.measured_speedup = speedup;
  }
  result.efficiency = result.measured_speedup / result.theoretical_speedup;
  return result;
}

}  // namespace kvscope
