#include "metrics/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace kvscope {

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - static_cast<double>(lo));
}

Summary summarize(std::vector<double> values) {
  Summary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.count = static_cast<int>(values.size());
  s.min = values.front();
  s.max = values.back();
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / s.count;
  double squares = 0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.stddev = s.count > 1 ? std::sqrt(squares / (s.count - 1)) : 0.0;
  s.median = s.p50 = percentile(values, 50);
  s.p90 = percentile(values, 90);
  s.p99 = percentile(values, 99);
  return s;
}

double distinct_ngram_share(std::span<const int32_t> ids, int n) {
  if (n < 1 || ids.size() < static_cast<size_t>(n)) return 1.0;
  std::set<std::vector<int32_t>> seen;
  const size_t total = ids.size() - n + 1;
  for (size_t i = 0; i < total; ++i) seen.emplace(ids.begin() + i, ids.begin() + i + n);
  return static_cast<double>(seen.size()) / static_cast<double>(total);
}

}  // namespace kvscope
