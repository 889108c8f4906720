#include "bench/results_json.h"

#include <fmt/format.h>

#include "metrics/system.h"

namespace kvscope {
namespace {

// What every suite's JSON begins with.
nlohmann::json suite_json(const std::string& suite, const Model& model, const MeasureOptions& o,
                          const MeasureResult& r) {
  return {{"suite", suite},
          {"system", system_json(model, o.threads)},
          {"kv_type", kv_type_name(o.kv_type)},
          {"precision", precision_name(o.precision)},
          {"repetitions", o.repetitions},
          {"warmup", o.warmup},
          {"repetitions_done", r.repetitions_done},
          {"interrupted", r.interrupted},
          {"all_identical", r.all_identical}};
}

}  // namespace

nlohmann::json summary_json(const Summary& s) {
  return {{"count", s.count}, {"min", s.min}, {"median", s.median},
          {"mean", s.mean},   {"max", s.max}, {"stddev", s.stddev},
          {"p50", s.p50},     {"p90", s.p90}, {"p99", s.p99}};
}

nlohmann::json system_json(const Model& model, int threads) {
  nlohmann::json j = provenance_json(model.file().path, threads);
  j["model_name"] = model.config().name;
  return j;
}

nlohmann::json measurement_json(const Workload& w, const Measurement& m) {
  std::vector<size_t> prompt_tokens;
  for (const auto& p : w.prompts) prompt_tokens.push_back(p.size());
  return {{"name", w.name},
          {"batch", w.prompts.size()},
          {"prompt_tokens", prompt_tokens},
          {"new_tokens", w.new_tokens},
          {"strategy", strategy_name(m.strategy)},
          {"seconds", summary_json(m.seconds)},
          {"ttft_s", summary_json(m.ttft_s)},
          {"tpot_s", summary_json(m.tpot_s)},
          {"throughput_tps", summary_json(m.throughput_tps)},
          {"kv_bytes_reserved", m.kv_bytes_reserved},
          {"identical", m.identical}};
}

nlohmann::json kv_compare_json(const Model& model, const KvCompareResult& r) {
  const KvCompareOptions& o = r.options;
  const MeasureResult as_workloads{{{r.workload, r.strategies, r.all_identical}},
                                   r.repetitions_done,
                                   r.interrupted,
                                   r.all_identical};
  nlohmann::json j = suite_json("kv-compare", model, o.measure, as_workloads);
  j["prompt_tokens"] = o.prompt_tokens;
  j["new_tokens"] = o.new_tokens;
  j["baseline"] = strategy_name(r.baseline);
  j["complexity"] = {{"token_ops_without_cache", r.token_ops_without_cache},
                     {"token_ops_with_cache", r.token_ops_with_cache},
                     {"theoretical_speedup", r.theoretical_speedup},
                     {"measured_speedup", r.measured_speedup},
                     {"measured_strategy", r.measured_speedup > 0 ? strategy_name(r.fastest) : ""},
                     {"efficiency", r.efficiency}};
  j["strategies"] = nlohmann::json::array();
  for (size_t i = 0; i < r.strategies.size(); ++i) {
    const Measurement& m = r.strategies[i];
    nlohmann::json s = measurement_json(r.workload, m);
    s["speedup"] = r.speedups[i];
    s["output_tps"] = s["throughput_tps"];  // one sequence: generated tokens / end-to-end time
    s["output_ids"] = m.outputs.front();
    s["logits_hash"] = fmt::format("{:016x}", m.logits_hash);
    j["strategies"].push_back(std::move(s));
  }
  return j;
}

nlohmann::json workloads_json(const std::string& suite, const std::string& entries,
                              const Model& model, const MeasureOptions& o, const MeasureResult& r) {
  nlohmann::json j = suite_json(suite, model, o, r);
  j[entries] = nlohmann::json::array();
  for (const WorkloadResult& w : r.workloads)
    for (const Measurement& m : w.strategies) {
      nlohmann::json entry = measurement_json(w.workload, m);
      if (suite == "sweep")
        entry["prompt_tokens"] = w.workload.prompts.front().size();  // one length a point
      j[entries].push_back(std::move(entry));
    }
  return j;
}

}  // namespace kvscope
