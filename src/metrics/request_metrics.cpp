#include "metrics/request_metrics.h"

#include <algorithm>
#include <cmath>

#include "metrics/stats.h"

namespace kvscope {
namespace {

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The most tokens within any window of `window` seconds, per second.
double peak_rate(const std::vector<double>& times, double window) {
  if (times.size() < 2 || window <= 0) return 0;
  size_t best = 0;
  for (size_t i = 0, j = 0; i < times.size(); ++i) {
    while (j < times.size() && times[j] - times[i] <= window) ++j;
    best = std::max(best, j - i);
  }
  return static_cast<double>(best) / window;
}

}  // namespace

RequestMetrics request_metrics(Clock::time_point start, const SequenceResult& sequence,
                               int discard_first) {
  RequestMetrics m;
  const auto& times = sequence.token_times;
  m.input_tokens = sequence.prompt_tokens;
  m.output_tokens = static_cast<int>(times.size());
  if (times.empty()) return m;
  m.ttft_s = seconds(start, times.front());
  m.e2e_s = seconds(start, times.back());
  m.token_latency_s.push_back(m.ttft_s);
  for (size_t i = 1; i < times.size(); ++i) {
    const double gap = seconds(times[i - 1], times[i]);
    m.token_latency_s.push_back(gap);
    if (static_cast<int>(i) > discard_first) m.itl_s.push_back(gap);
  }
  m.input_tps = m.ttft_s > 0 ? m.input_tokens / m.ttft_s : 0;
  m.overall_tps = m.e2e_s > 0 ? (m.input_tokens + m.output_tokens) / m.e2e_s : 0;
  double decode_s = 0;
  for (double gap : m.itl_s) decode_s += gap;
  if (!m.itl_s.empty() && decode_s > 0) {
    m.tpot_s = decode_s / static_cast<double>(m.itl_s.size());
    m.output_tps = static_cast<double>(m.itl_s.size()) / decode_s;
  }
  // Decode times relative to the first counted token.
  const size_t first = std::min<size_t>(static_cast<size_t>(discard_first), times.size() - 1);
  std::vector<double> decode_times;
  for (size_t i = first; i < times.size(); ++i) decode_times.push_back(seconds(times[first], times[i]));
  m.peak_tps = peak_rate(decode_times, std::min(1.0, decode_times.back()));
  for (const auto& t : times) {
    const auto second = static_cast<size_t>(seconds(start, t));
    if (m.tps_per_second.size() <= second) m.tps_per_second.resize(second + 1, 0.0);
    m.tps_per_second[second] += 1;
  }
  std::vector<double> rates;
  for (double gap : m.itl_s)
    if (gap > 0) rates.push_back(1.0 / gap);
  const Summary r = summarize(rates);
  m.rate_stddev = r.stddev;
  m.rate_relative_stddev = r.mean > 0 ? r.stddev / r.mean : 0;
  return m;
}

}  // namespace kvscope
