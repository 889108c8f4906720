#include "metrics/request_metrics.h"

#include <fmt/format.h>

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
  for (size_t i = first; i < times.size(); ++i)
    decode_times.push_back(seconds(times[first], times[i]));
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

std::string format_request_metrics(const RequestMetrics& m, const MemoryReport& memory,
                                   size_t index, size_t count, bool detailed) {
  const double mib = 1048576.0;
  const int64_t growth = static_cast<int64_t>(memory.after.peak_rss_bytes) -
                         static_cast<int64_t>(memory.before.rss_bytes);
  const Summary itl = summarize(m.itl_s);
  std::string out = count > 1
                        ? fmt::format("\n📊 Performance metrics, sequence {} of {}\n", index, count)
                        : std::string("\n📊 Performance metrics\n");
  out +=
      fmt::format("  Tokens                {} input, {} output\n", m.input_tokens, m.output_tokens);
  out += fmt::format("  Time to first token   {:.1f} ms\n", m.ttft_s * 1e3);
  out += fmt::format("  Total time            {:.3f} s\n", m.e2e_s);
  out += fmt::format("  Time per output token {:.2f} ms\n", m.tpot_s * 1e3);
  if (detailed)
    out += fmt::format(
        "  Inter-token latency   p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms\n",
        itl.p50 * 1e3, itl.p90 * 1e3, itl.p99 * 1e3, itl.max * 1e3);
  out += fmt::format(
      "  Tokens/s              input {:.1f}, output {:.1f}, overall {:.1f}, peak {:.1f}\n",
      m.input_tps, m.output_tps, m.overall_tps, m.peak_tps);
  if (!detailed) return out;
  out += fmt::format("  Stability             std dev {:.1f} tok/s ({:.1f}% of the mean rate)\n",
                     m.rate_stddev, 100 * m.rate_relative_stddev);
  out += fmt::format(
      "  Memory                peak RSS {:.1f} MiB (+{:.1f} MiB in the run, {:.1f} KiB per output "
      "token)\n",
      memory.after.peak_rss_bytes / mib, growth / mib,
      m.output_tokens > 0 ? growth / 1024.0 / m.output_tokens : 0.0);
  out += fmt::format(
      "  KV cache              {:.2f} MiB reserved, {:.2f} MiB used, {:.1f} KiB per token\n",
      memory.kv_reserved / mib, memory.kv_used / mib, memory.kv_per_token / 1024.0);
  out += fmt::format("  Model                 {:.1f} MiB mapped", memory.model_bytes / mib);
  if (memory.packed_bytes > 0)
    out += fmt::format(", {:.1f} MiB repacked", memory.packed_bytes / mib);
  out += "\n";
  return out;
}

nlohmann::json request_metrics_json(const RequestMetrics& m, const MemoryReport& memory) {
  const Summary itl = summarize(m.itl_s);
  return {{"input_tokens", m.input_tokens},
          {"output_tokens", m.output_tokens},
          {"ttft_s", m.ttft_s},
          {"e2e_s", m.e2e_s},
          {"tpot_s", m.tpot_s},
          {"itl_s", m.itl_s},
          {"itl_summary",
           {{"p50", itl.p50},
            {"p90", itl.p90},
            {"p99", itl.p99},
            {"max", itl.max},
            {"mean", itl.mean}}},
          {"token_latency_s", m.token_latency_s},
          {"input_tps", m.input_tps},
          {"output_tps", m.output_tps},
          {"overall_tps", m.overall_tps},
          {"peak_tps", m.peak_tps},
          {"tps_per_second", m.tps_per_second},
          {"rate_stddev", m.rate_stddev},
          {"rate_relative_stddev", m.rate_relative_stddev},
          {"memory",
           {{"rss_before_bytes", memory.before.rss_bytes},
            {"peak_rss_bytes", memory.after.peak_rss_bytes},
            {"kv_reserved_bytes", memory.kv_reserved},
            {"kv_used_bytes", memory.kv_used},
            {"kv_bytes_per_token", memory.kv_per_token},
            {"model_bytes", memory.model_bytes},
            {"packed_bytes", memory.packed_bytes}}}};
}

}  // namespace kvscope
