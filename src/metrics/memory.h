#pragma once
// Resident memory of this process, from /proc/self/status.
#include <cstdint>

namespace kvscope {

struct MemoryUsage {
  uint64_t rss_bytes = 0;
  uint64_t peak_rss_bytes = 0;  // the high-water mark since start or since reset_peak_memory()
};

MemoryUsage read_memory();
// Resets the high-water mark to the current RSS (Linux: /proc/self/clear_refs), so that a peak
// can be measured for one run; returns false where the kernel does not allow it.
bool reset_peak_memory();

// Measured memory read bandwidth in bytes per second: the best of a few passes summing a buffer
// much larger than the caches with `threads` threads.
double measure_read_bandwidth(int threads);

}  // namespace kvscope
