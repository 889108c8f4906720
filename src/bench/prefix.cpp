#include "bench/prefix.h"

#include "core/error.h"

namespace kvscope {

std::vector<ServedRequest> prefix_requests(const Model& model, const PrefixBenchOptions& o) {
  if (o.requests < 1 || o.shared_tokens < 1 || o.suffix_tokens < 1 || o.new_tokens < 1)
    fail("the prefix suite needs requests, a shared prompt, a suffix and tokens to generate");
  const std::vector<int32_t> shared = benchmark_prompt(model, o.shared_tokens);
  const bool bos = model.tokenizer().bos_id() >= 0 && !shared.empty() &&
                   shared.front() == model.tokenizer().bos_id();
  std::vector<ServedRequest> requests;
  for (int i = 0; i < o.requests; ++i) {
    // A suffix of its own: the same text from another offset, without a second BOS.
    std::vector<int32_t> suffix =
        benchmark_prompt(model, o.suffix_tokens + (bos ? 1 : 0), 11 + 29 * i);
    ServedRequest r{shared, o.new_tokens, o.new_tokens};
    r.prompt.insert(r.prompt.end(), suffix.begin() + (bos ? 1 : 0), suffix.end());
    requests.push_back(std::move(r));
  }
  return requests;
}

PrefixBenchResult run_prefix_bench(const Model& model, const PrefixBenchOptions& o,
                                   const std::function<void(int, int)>& on_progress) {
  const std::vector<ServedRequest> requests = prefix_requests(model, o);
  std::vector<ServedResult> runs[2];  // without, with reuse
  PrefixBenchResult result;
  result.repetitions_done = run_alternating(
      2, o.measure.warmup, o.measure.repetitions,
      [&](int reuse, bool measured) {
        EngineOptions e;
        e.cache = CacheStrategy::kPaged;
        e.prefix_cache = reuse == 1;
        e.kv_type = o.measure.kv_type;
        e.precision = o.measure.precision;
        e.threads = o.measure.threads;
        e.block_size = o.block_size;
        e.max_batch_tokens = o.max_batch_tokens;
        e.max_seqs = o.concurrency > 0 ? o.concurrency : o.requests;
        e.n_ctx = o.shared_tokens + o.suffix_tokens + o.new_tokens;
        // One sequence more than run at once, so that the shared blocks can stay cached between
        // requests.
        const KvShape shape{model.config().n_layers,
                            model.config().kv_dim(),
                            e.max_seqs + 1,
                            e.n_ctx,
                            e.kv_type,
                            e.block_size};
        e.kv_budget_bytes = shape.budget();
        ServedResult r = serve_requests(model, e, requests, o.concurrency);
        if (measured) runs[reuse].push_back(std::move(r));
      },
      on_progress);
  result.interrupted = result.repetitions_done < o.measure.repetitions;
  if (runs[0].empty() || runs[1].empty()) return result;
  result.without_reuse = runs[0].front();
  result.with_reuse = runs[1].front();
  std::vector<double> without, with;
  for (const ServedResult& r : runs[0]) without.push_back(r.seconds);
  for (const ServedResult& r : runs[1]) {
    with.push_back(r.seconds);
    result.identical = result.identical && r.same_outputs(result.without_reuse);
  }
  for (const ServedResult& r : runs[0])
    result.identical = result.identical && r.same_outputs(result.without_reuse);
  result.seconds_without = summarize(without);
  result.seconds_with = summarize(with);
  result.ttft_speedup = result.without_reuse.ttft_s.median / result.with_reuse.ttft_s.median;
  result.hit_rate = static_cast<double>(result.with_reuse.cached_tokens) /
                    static_cast<double>(result.with_reuse.prompt_tokens);
  return result;
}

}  // namespace kvscope
