#include "bench/trace.h"

#include <algorithm>

#include "bench/kv_compare.h"
#include "core/error.h"
#include "metrics/request_metrics.h"

namespace kvscope {

std::vector<StrategyTrace> run_trace(const Model& model, const TraceOptions& o,
                                     const std::function<void(int, int)>& on_progress) {
  if (o.prompt_tokens < 1 || o.new_tokens < 1 || o.repetitions < 1 || o.strategies.empty())
    fail("trace needs a prompt, new tokens, repetitions and strategies");
  const std::vector<int32_t> prompt = benchmark_prompt(model, o.prompt_tokens);
  std::vector<StrategyTrace> traces(o.strategies.size());
  const int total = (o.warmup + o.repetitions) * static_cast<int>(o.strategies.size());
  int done = 0;
  for (int rep = 0; rep < o.warmup + o.repetitions; ++rep) {
    for (size_t s = 0; s < o.strategies.size(); ++s) {
      const GenerationResult r =
          generate_exactly(model, prompt, o.strategies[s], o.kv_type, o.precision, o.threads, o.new_tokens);
      if (on_progress) on_progress(++done, total);
      if (rep < o.warmup) continue;
      const std::vector<double> latency = request_metrics(r.start, r.sequences[0]).token_latency_s;
      StrategyTrace& t = traces[s];
      t.strategy = o.strategies[s];
      if (t.mean_latency_s.empty()) {
        t.mean_latency_s.assign(latency.size(), 0.0);
        t.min_latency_s = latency;
        t.max_latency_s = latency;
      }
      for (size_t i = 0; i < latency.size(); ++i) {
        t.mean_latency_s[i] += latency[i] / o.repetitions;
        t.min_latency_s[i] = std::min(t.min_latency_s[i], latency[i]);
        t.max_latency_s[i] = std::max(t.max_latency_s[i], latency[i]);
      }
    }
  }
  return traces;
}

}  // namespace kvscope
