#pragma once
// Summary statistics of repeated measurements, and how repetitive a generated text is.
#include <cstdint>
#include <span>
#include <vector>

namespace kvscope {

struct Summary {
  int count = 0;
  double min = 0, max = 0, mean = 0, median = 0, stddev = 0, p50 = 0, p90 = 0, p99 = 0;
};

// Percentiles interpolate linearly between order statistics (numpy's default); the standard
// deviation is the sample one (n - 1). An empty input gives all zeros.
Summary summarize(std::vector<double> values);
double percentile(const std::vector<double>& sorted, double p);

// Distinct n-grams of `ids` over all its n-grams: 1 when no n-gram repeats, near 0 in a loop
// (the "distinct-n" of text-generation papers). 1 for fewer than n ids.
double distinct_ngram_share(std::span<const int32_t> ids, int n);

}  // namespace kvscope
