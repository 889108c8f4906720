#pragma once
// The JSON the suites write with --json (format: docs/results.md), shared by the command line
// and the Python package, so that both give the same result.
#include <nlohmann/json.hpp>
#include <string>

#include "bench/kv_compare.h"
#include "bench/workload.h"
#include "metrics/stats.h"

namespace kvscope {

nlohmann::json summary_json(const Summary& s);
// Every result's "system" object: its provenance (metrics/system.h) and the model's name.
nlohmann::json system_json(const Model& model, int threads);
// One workload under one strategy: name, batch, new_tokens, strategy, a Summary per figure, KV
// bytes and identity.
nlohmann::json measurement_json(const Workload& workload, const Measurement& m);
// `bench kv-compare --json`.
nlohmann::json kv_compare_json(const Model& model, const KvCompareResult& r);
// `bench sweep --json` (suite "sweep", its workloads under "points") and `bench cases --json`
// ("cases", under "cases").
nlohmann::json workloads_json(const std::string& suite, const std::string& entries,
                              const Model& model, const MeasureOptions& o, const MeasureResult& r);

}  // namespace kvscope
