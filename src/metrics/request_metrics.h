#pragma once
// The metrics of one generated sequence, from its token timestamps, with the serving
// benchmarks' definitions: TTFT is the time from the request to the first generated token;
// TPOT is (end-to-end − TTFT) / (output tokens − 1); ITL is every gap between two tokens.
// Output tokens are every sampled token, the end token that stopped a sequence included (it cost
// a step like the others); the sequence's ids and text leave it out.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "generate/session.h"
#include "metrics/memory.h"

namespace kvscope {

struct RequestMetrics {
  int input_tokens = 0;
  int output_tokens = 0;
  double ttft_s = 0;
  double e2e_s = 0;
  double tpot_s = 0;
  std::vector<double> itl_s;            // output_tokens − 1 gaps
  std::vector<double> token_latency_s;  // per token: TTFT for the first, then the ITLs
  double input_tps = 0;                 // prompt tokens / TTFT (prefill speed)
  double output_tps = 0;                // (output tokens − 1) / (e2e − TTFT) (decode speed)
  double overall_tps = 0;               // (input + output tokens) / e2e
  double peak_tps = 0;  // most tokens in any one-second window (or the run, if shorter)
  std::vector<double> tps_per_second;  // tokens emitted in each second of the run
  double rate_stddev = 0;              // std dev of the per-token rate 1 / ITL
  double rate_relative_stddev = 0;     // the same over its mean
};

// Memory around one run, for the report.
struct MemoryReport {
  MemoryUsage before, after;  // after.peak_rss_bytes is the run's peak (reset before it)
  uint64_t kv_reserved = 0, kv_used = 0, kv_per_token = 0;
  uint64_t model_bytes = 0;   // the model file, memory-mapped
  uint64_t packed_bytes = 0;  // weights repacked for the fast path, held besides the file
};

// seed 002's metrics block (without `detailed`: tokens, times and rates only), and the same
// figures as JSON.
std::string format_request_metrics(const RequestMetrics& m, const MemoryReport& memory,
                                   size_t index, size_t count, bool detailed = true);
nlohmann::json request_metrics_json(const RequestMetrics& m, const MemoryReport& memory);

// `discard_first` drops that many leading output tokens from the decode figures (ITL, TPOT,
// rates), as warm-up; TTFT always counts the first token.
RequestMetrics request_metrics(Clock::time_point start, const SequenceResult& sequence,
                               int discard_first = 0);

}  // namespace kvscope
