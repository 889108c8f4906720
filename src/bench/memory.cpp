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

MemoryBenchResult run_memory_bench(const Model& model, const MemoryBenchOptions& o,
                                   const std::function<void(int, int)>& on_progress) {
  MemoryBenchResult result;
  result.mix = memory_mix(model, o);
  int longest = 0;
  for (const ServedRequest& r : result.mix)
    longest = std::max(longest, static_cast<int>(r.prompt.size()) + r.max_tokens);
  const std::vector<CacheStrategy>& strategies = o.measure.strategies;
  if (strategies.empty() || o.measure.repetitions < 1)
    fail("the memory suite needs strategies and repetitions");
  std::vector<std::vector<ServedResult>> runs(strategies.size());
  result.repetitions_done = run_alternating(
      static_cast<int>(strategies.size()), o.measure.warmup, o.measure.repetitions,
      [&](int s, bool measured) {
        EngineOptions e;
        e.cache = strategies[s];
        e.kv_type = o.measure.kv_type;
        e.precision = o.measure.precision;
        e.threads = o.measure.threads;
        e.max_seqs = o.max_seqs;
        e.max_batch_tokens = o.max_batch_tokens;
        e.block_size = o.block_size;
        e.n_ctx = longest;
        e.kv_budget_bytes = o.budget_mib << 20;
        ServedResult r = serve_requests(model, e, result.mix, 0);
        if (measured) runs[s].push_back(std::move(r));
      },
      on_progress);
  result.interrupted = result.repetitions_done < o.measure.repetitions;
  if (std::any_of(runs.begin(), runs.end(), [](const auto& r) { return r.empty(); })) return result;
  for (size_t s = 0; s < strategies.size(); ++s) {
    MemoryStrategyResult m;
    m.strategy = strategies[s];
    m.first = runs[s].front();
    std::vector<double> seconds, tps;
    for (const ServedResult& r : runs[s]) {
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
