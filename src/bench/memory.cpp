#include "bench/memory.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"

namespace kvscope {
namespace {

std::vector<ServedRequest> read_mix(const Model& model, const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open the request mix", path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_array() || j.empty())
    fail(
        "{}: expected a JSON list of {{\"prompt_tokens\": P, \"output_tokens\": O, \"max_tokens\": "
        "M}}",
        path);
  std::vector<ServedRequest> mix;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto field = [&](const char* name, int fallback) {
      if (!j[i].is_object()) fail("{}: request {} is not an object", path, i + 1);
      if (!j[i].contains(name)) {
        if (fallback > 0) return fallback;
        fail("{}: request {} has no \"{}\"", path, i + 1, name);
      }
      if (!j[i][name].is_number_integer() || j[i][name].get<int64_t>() < 1 ||
          j[i][name].get<int64_t>() > 1 << 20)
        fail("{}: request {}'s \"{}\" must be a positive integer", path, i + 1, name);
      return j[i][name].get<int>();
    };
    const int prompt = field("prompt_tokens", 0), output = field("output_tokens", 0);
    const int max_tokens = field("max_tokens", output);
    if (max_tokens < output)
      fail("{}: request {}'s max_tokens is below its output_tokens", path, i + 1);
    mix.push_back({benchmark_prompt(model, prompt, static_cast<int>(i) * 7), output, max_tokens});
  }
  return mix;
}

}  // namespace

std::vector<ServedRequest> memory_mix(const Model& model, const MemoryBenchOptions& o) {
  if (!o.mix_file.empty()) return read_mix(model, o.mix_file);
  if (o.requests < 1 || o.min_prompt < 1 || o.min_prompt > o.max_prompt || o.min_output < 1 ||
      o.min_output > o.max_output || o.max_tokens < o.max_output)
    fail("the request mix needs 1 <= min <= max lengths and max_tokens >= the longest output");
  std::mt19937 rng(static_cast<uint32_t>(o.seed));
  std::uniform_int_distribution<int> prompt(o.min_prompt, o.max_prompt),
      output(o.min_output, o.max_output);
  std::vector<ServedRequest> mix;
  for (int i = 0; i < o.requests; ++i) {
    const int p = prompt(rng);
    mix.push_back({benchmark_prompt(model, p, i * 7), output(rng), o.max_tokens});
  }
  return mix;
}

std::vector<int> fixed_batch_sizes(const Model& model, const MemoryBenchOptions& o, int longest,
                                   int requests) {
  const KvShape shape{model.config().n_layers, model.config().kv_dim(), 1, 0, o.measure.kv_type};
  const size_t per_request = static_cast<size_t>(longest) * shape.bytes_per_token();
  const int largest = static_cast<int>(std::min<size_t>(
      (o.budget_mib << 20) / per_request, static_cast<size_t>(std::min(o.max_seqs, requests))));
  std::vector<int> sizes;
  for (int b = 1; b < largest; b *= 2) sizes.push_back(b);
  if (largest > 0) sizes.push_back(largest);
  return sizes;
}

MemoryBenchResult run_memory_bench(const Model& model, const MemoryBenchOptions& o,
                                   const std::function<void(int, int)>& on_progress) {
  MemoryBenchResult result;
  result.mix = memory_mix(model, o);
  int longest = 0;
  for (const ServedRequest& r : result.mix)
    longest = std::max(longest, static_cast<int>(r.prompt.size()) + r.max_tokens);
  if (o.measure.strategies.empty() || o.measure.repetitions < 1)
    fail("the memory suite needs strategies and repetitions");
  std::vector<MemoryStrategyResult> variants;
  const auto add_variant = [&](CacheStrategy strategy, int fixed_batch) {
    variants.emplace_back();
    variants.back().strategy = strategy;
    variants.back().fixed_batch = fixed_batch;
  };
  for (CacheStrategy s : o.measure.strategies) add_variant(s, 0);
  if (o.fixed_batches)
    for (int b : fixed_batch_sizes(model, o, longest, static_cast<int>(result.mix.size())))
      add_variant(CacheStrategy::kPrealloc, b);
  std::vector<std::vector<ServedResult>> runs(variants.size());
  result.repetitions_done = run_alternating(
      static_cast<int>(variants.size()), o.measure.warmup, o.measure.repetitions,
      [&](int v, bool measured) {
        const MemoryStrategyResult& variant = variants[v];
        EngineOptions e;
        e.cache = variant.strategy;
        e.kv_type = o.measure.kv_type;
        e.precision = o.measure.precision;
        e.threads = o.measure.threads;
        e.max_seqs = variant.fixed_batch > 0 ? variant.fixed_batch : o.max_seqs;
        e.max_batch_tokens = o.max_batch_tokens;
        e.block_size = o.block_size;
        e.n_ctx = longest;
        e.kv_budget_bytes = o.budget_mib << 20;
        ServedResult r = variant.fixed_batch > 0
                             ? serve_requests(model, e, result.mix, variant.fixed_batch,
                                              Admission::kClosedBatches)
                             : serve_requests(model, e, result.mix, 0);
        if (measured) runs[v].push_back(std::move(r));
      },
      on_progress);
  result.interrupted = result.repetitions_done < o.measure.repetitions;
  if (std::any_of(runs.begin(), runs.end(), [](const auto& r) { return r.empty(); })) return result;
  for (size_t v = 0; v < variants.size(); ++v) {
    MemoryStrategyResult m = variants[v];
    m.first = runs[v].front();
    std::vector<double> seconds, tps;
    for (const ServedResult& r : runs[v]) {
      seconds.push_back(r.seconds);
      tps.push_back(static_cast<double>(r.generated_tokens()) / r.seconds);
      m.identical = m.identical && r.same_outputs(runs[0].front());
    }
    m.seconds = summarize(seconds);
    m.throughput_tps = summarize(tps);
    result.all_identical = result.all_identical && m.identical;
    result.strategies.push_back(std::move(m));
  }
  return result;
}

}  // namespace kvscope
