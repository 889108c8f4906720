#pragma once
// Prometheus' text exposition format: counters, gauges and histograms with fixed buckets.
#include <cstdint>
#include <string>
#include <vector>

namespace kvscope::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds)
      : bounds_(std::move(upper_bounds)), counts_(bounds_.size(), 0) {}
  void observe(double value);
  // The # HELP and # TYPE lines, cumulative buckets up to +Inf, _sum and _count.
  std::string render(const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, not cumulative
  int64_t count_ = 0;
  double sum_ = 0;
};

// Buckets for latencies in seconds, from a millisecond to a few minutes.
std::vector<double> latency_buckets();

std::string counter(const std::string& name, const std::string& help, double value);
std::string gauge(const std::string& name, const std::string& help, double value);

}  // namespace kvscope::serve
