#pragma once
// A result JSON (kv-compare, trace, sweep, cases, train, or run --metrics-json) read into what the
// report shows of it: a heading, what it ran on, tables and charts. Which suite is read from
// "suite" (a run's JSON has none: a top-level "sequences" array marks it).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "report/chart.h"

namespace kvscope::report {

struct ReportTable {
  std::string caption;
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};

struct SuiteReport {
  std::string suite;    // kv-compare, trace, sweep, cases, train or run
  std::string source;   // the file it came from
  std::string heading;  // what was measured
  std::string system;   // model, CPU, kernels and threads
  // Where it came from: kvscope's version, commit and compiler, the CPU's vendor, family and model,
  // the model file's SHA-256 and the date ("" for a result that does not record them).
  std::string provenance;
  std::vector<ReportTable> tables;
  std::vector<Chart> charts;
};

// Error naming `source` when the JSON is no result kvscope knows or lacks a field.
SuiteReport read_suite_report(const nlohmann::json& result, const std::string& source);
// Reads and parses a result file (Error when it cannot, or when it is not JSON).
nlohmann::json load_result_json(const std::string& path);
SuiteReport load_suite_report(const std::string& path);

// bench serve results at several --max-concurrency levels, of one server or several (told apart by
// their "label"), as one report: output throughput and p99 TTFT against concurrency, the median
// over results that repeat a server and level. Empty when fewer than two levels are present.
std::optional<SuiteReport> serve_concurrency_report(
    const std::vector<nlohmann::json>& serve_results);

// Writes each chart into dir as <prefix><chart name>.png/.svg; returns the paths written.
std::vector<std::string> write_charts(const SuiteReport& report, const std::string& dir,
                                      ImageFormat format, const std::string& prefix = "");

}  // namespace kvscope::report
