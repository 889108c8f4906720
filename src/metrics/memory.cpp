#include "metrics/memory.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace kvscope {
namespace {
volatile uint64_t sink_ = 0;
}  // namespace

MemoryUsage read_memory() {
  MemoryUsage m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_bytes = std::stoull(line.substr(6)) * 1024;
    if (line.rfind("VmHWM:", 0) == 0) m.peak_rss_bytes = std::stoull(line.substr(6)) * 1024;
  }
  return m;
}

bool reset_peak_memory() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  return static_cast<bool>(out.flush());
}

double measure_read_bandwidth(int threads) {
  threads = std::max(1, threads);
  // 512 MiB: far beyond any last-level cache, so every pass streams from memory.
  const size_t count = (512u << 20) / sizeof(uint64_t);
  std::vector<uint64_t> buffer(count, 1);
  double best = 0;
  for (int pass = 0; pass < 4; ++pass) {
    std::vector<uint64_t> sums(threads, 0);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        const size_t begin = count / threads * t,
                     end = t + 1 == threads ? count : count / threads * (t + 1);
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = begin; i + 4 <= end; i += 4) {
          s0 += buffer[i];
          s1 += buffer[i + 1];
          s2 += buffer[i + 2];
          s3 += buffer[i + 3];
        }
        sums[t] = s0 + s1 + s2 + s3;
      });
    for (auto& w : workers) w.join();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Publishing the sums keeps the compiler from dropping the reads.
    for (uint64_t v : sums) sink_ = sink_ + v;
    if (pass > 0) best = std::max(best, static_cast<double>(count * sizeof(uint64_t)) / s);
  }
  return best;
}

}  // namespace kvscope
