#include "bench/kv_compare.h"

#include <cstring>

#include "core/error.h"
#include "metrics/request_metrics.h"

namespace kvscope {
namespace {

constexpr const char* kPromptText =
    "The history of the bicycle is a story of many small improvements. Early machines had no pedals: riders "
    "pushed themselves along with their feet. Later designs put cranks on the front wheel, which grew larger "
    "so that one turn of the pedals carried the rider further. The safety bicycle, with two wheels of equal "
    "size and a chain driving the rear wheel, changed everything. ";

uint64_t fnv1a(uint64_t hash, const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 1099511628211ull;
  return hash;
}

struct Run {
  double seconds, ttft, tpot, tps;
  uint64_t kv_reserved;
  std::vector<int32_t> output;
  uint64_t hash;
};

Run run_strategy(const Model& model, const std::vector<int32_t>& prompt, CacheStrategy strategy,
                 const KvCompareOptions& o) {
  uint64_t hash = 14695981039346656037ull;
  uint64_t kv_reserved = 0;
  const GenerationResult r = generate_exactly(
      model, prompt, strategy, o.kv_type, o.precision, o.threads, o.new_tokens,
      [&](int, std::span<const float> l) { hash = fnv1a(hash, l.data(), l.size_bytes()); }, &kv_reserved);
  const RequestMetrics m = request_metrics(r.start, r.sequences[0]);
  return {m.e2e_s, m.ttft_s, m.tpot_s, m.output_tokens / m.e2e_s, kv_reserved, r.sequences[0].output, hash};
}

}  // namespace

GenerationResult generate_exactly(const Model& model, const std::vector<int32_t>& prompt, CacheStrategy cache,
                                  KvType kv_type, Precision precision, int threads, int new_tokens,
                                  const LogitsCallback& on_logits, uint64_t* kv_bytes_reserved) {
  SessionOptions so;
  so.cache = cache;
  so.kv_type = kv_type;
  so.precision = precision;
  so.threads = threads;
  so.n_ctx = static_cast<int>(prompt.size()) + new_tokens;
  Session session(model, so);
  GenerateOptions g;
  g.max_new_tokens = new_tokens;
  g.stop_at_end_token = false;  // every strategy generates exactly new_tokens
  g.on_logits = on_logits;
  GenerationResult r = session.generate({prompt}, g);
  if (kv_bytes_reserved != nullptr) *kv_bytes_reserved = session.cache().bytes_reserved();
  return r;
}

bool verify_identical(std::vector<StrategyMeasurement>& strategies) {
  bool all = true;
  for (StrategyMeasurement& m : strategies) {
    m.identical = m.repeatable && m.output == strategies.front().output &&
                  m.logits_hash == strategies.front().logits_hash;
    all = all && m.identical;
  }
  return all;
}

std::vector<int32_t> benchmark_prompt(const Model& model, int n) {
  const std::vector<int32_t> text = model.tokenizer().encode(kPromptText, false, false);
  std::vector<int32_t> out;
  if (model.tokenizer().bos_id() >= 0 && model.file().meta.get_bool("tokenizer.ggml.add_bos_token", false))
    out.push_back(model.tokenizer().bos_id());
  while (static_cast<int>(out.size()) < n) out.push_back(text[out.size() % text.size()]);
  out.resize(static_cast<size_t>(n));
  return out;
}

KvCompareResult run_kv_compare(const Model& model, const KvCompareOptions& o,
                               const std::function<void(int, int)>& on_progress) {
  if (o.prompt_tokens < 1 || o.new_tokens < 1 || o.repetitions < 1 || o.strategies.empty())
    fail("kv-compare needs a prompt, new tokens, repetitions and strategies");
  KvCompareResult result;
  result.options = o;
  result.prompt = benchmark_prompt(model, o.prompt_tokens);
  const size_t n = o.strategies.size();
  std::vector<std::vector<Run>> runs(n);
  const int total = (o.warmup + o.repetitions) * static_cast<int>(n);
  int done = 0;
  // Alternating A B C A B C, so that a drift of the machine's speed hits every strategy alike.
  for (int rep = 0; rep < o.warmup + o.repetitions; ++rep) {
    for (size_t s = 0; s < n; ++s) {
      Run run = run_strategy(model, result.prompt, o.strategies[s], o);
      if (rep >= o.warmup) runs[s].push_back(std::move(run));
      if (on_progress) on_progress(++done, total);
    }
  }
  for (size_t s = 0; s < n; ++s) {
    StrategyMeasurement m;
    m.strategy = o.strategies[s];
    std::vector<double> seconds, ttft, tpot, tps;
    for (const Run& r : runs[s]) {
      seconds.push_back(r.seconds);
      ttft.push_back(r.ttft);
      tpot.push_back(r.tpot);
      tps.push_back(r.tps);
      m.repeatable = m.repeatable && r.output == runs[s][0].output && r.hash == runs[s][0].hash;
    }
    m.seconds = summarize(seconds);
    m.ttft_s = summarize(ttft);
    m.tpot_s = summarize(tpot);
    m.output_tps = summarize(tps);
    m.kv_bytes_reserved = runs[s][0].kv_reserved;
    m.output = runs[s][0].output;
    m.logits_hash = runs[s][0].hash;
    result.strategies.push_back(std::move(m));
  }
  result.all_identical = verify_identical(result.strategies);
  const int64_t p = o.prompt_tokens, g = o.new_tokens;
  // Without a cache, step t feeds all p + t tokens; with one, each token is fed once.
  result.token_ops_without_cache = g * p + g * (g - 1) / 2;
  result.token_ops_with_cache = p + g;
  result.theoretical_speedup = static_cast<double>(result.token_ops_without_cache) / result.token_ops_with_cache;
  result.measured_speedup = result.strategies.front().seconds.median / result.strategies.back().seconds.median;
  result.efficiency = result.measured_speedup / result.theoretical_speedup;
  return result;
}

}  // namespace kvscope
