#include "bench/trace.h"

#include <algorithm>

#include "core/error.h"
#include "metrics/request_metrics.h"

namespace kvscope {

TraceResult run_trace(const Model& model, const TraceOptions& o,
                      const std::function<void(int, int)>& on_progress) {
  if (o.prompt_tokens < 1 || o.new_tokens < 1) fail("trace needs a prompt and new tokens");
  const std::vector<int32_t> prompt = benchmark_prompt(model, o.prompt_tokens);
  const MeasureOptions& m = o.measure;
  TraceResult result;
  result.strategies.resize(m.strategies.size());
  std::vector<std::vector<std::vector<double>>> latencies(
      m.strategies.size());  // [strategy][run][token]
  std::vector<std::unique_ptr<Session>> sessions(m.strategies.size());
  result.repetitions_done = run_alternating(
      static_cast<int>(m.strategies.size()), m.warmup, m.repetitions,
      [&](int s, bool measured) {
        const GenerationResult r =
            generate_exactly(model, {prompt}, m.strategies[s], m, o.new_tokens, sessions[s]);
        if (measured)
          latencies[s].push_back(request_metrics(r.start, r.sequences[0]).token_latency_s);
      },
      on_progress);
  result.interrupted = result.repetitions_done < m.repetitions;
  for (size_t s = 0; s < m.strategies.size(); ++s) {
    StrategyTrace& t = result.strategies[s];
    t.strategy = m.strategies[s];
    for (size_t i = 0; i < static_cast<size_t>(o.new_tokens) && !latencies[s].empty(); ++i) {
      std::vector<double> samples;
      for (const auto& run : latencies[s]) samples.push_back(run[i]);
      const Summary token = summarize(samples);
      t.mean_latency_s.push_back(token.mean);
      t.min_latency_s.push_back(token.min);
      t.max_latency_s.push_back(token.max);
    }
  }
  return result;
}

}  // namespace kvscope
