#include "core/thread_pool.h"

#include <algorithm>

namespace kvscope {
namespace {
// Spinning before a worker goes to sleep: roughly a millisecond. The loops use no PAUSE:
// hypervisors trap PAUSE-heavy loops (pause-loop exiting) and deschedule the spinning vCPU,
// which made every job wait for the host's scheduler.
constexpr int kSpinsBeforeSleep = 200000;
// Chunks per thread: enough that the running threads can take over a stalled one's share, few
// enough that claiming (one atomic operation each) stays cheap next to the work.
constexpr int64_t kChunksPerThread = 4;

uint32_t generation_of(uint64_t claims) { return static_cast<uint32_t>(claims >> 32); }
uint32_t unclaimed_of(uint64_t claims) { return static_cast<uint32_t>(claims); }
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  for (int i = 1; i < std::max(n_threads, 1); ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks(uint32_t generation) {
  uint64_t claims = claims_.load(std::memory_order_acquire);
  while (generation_of(claims) == generation && unclaimed_of(claims) > 0) {
    if (!claims_.compare_exchange_weak(claims, claims - 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
      continue;
    // This chunk is ours: the job cannot change until it is done.
    const int64_t chunk = chunk_count_ - unclaimed_of(claims);
    const int64_t begin = chunk * chunk_size_;
    (*job_)(begin, std::min(job_size_, begin + chunk_size_));
    chunks_done_.fetch_add(1, std::memory_order_acq_rel);
    claims = claims_.load(std::memory_order_acquire);
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (workers_.empty() || n <= 1) {
    if (n > 0) fn(0, n);
    return;
  }
  const int64_t wanted = std::min<int64_t>(n, size() * kChunksPerThread);
  job_ = &fn;
  job_size_ = n;
  chunk_size_ = (n + wanted - 1) / wanted;
  chunk_count_ = (n + chunk_size_ - 1) / chunk_size_;
  chunks_done_.store(0, std::memory_order_relaxed);
  resting_.store(false, std::memory_order_relaxed);
  const uint32_t generation = generation_of(claims_.load(std::memory_order_relaxed)) + 1;
  {
    // The lock orders the publication against a worker deciding to sleep.
    std::lock_guard lock(mutex_);
    claims_.store((static_cast<uint64_t>(generation) << 32) | static_cast<uint64_t>(chunk_count_),
                  std::memory_order_release);
  }
  if (sleeping_.load(std::memory_order_acquire) > 0) wake_.notify_all();
  run_chunks(generation);
  // The caller spins too, then yields its core in case a worker holding a chunk is waiting for one.
  for (int spins = 0; chunks_done_.load(std::memory_order_acquire) != chunk_count_; ++spins)
    if (spins > kSpinsBeforeSleep) std::this_thread::yield();
}

void ThreadPool::worker_loop() {
  uint32_t seen = 0;
  for (;;) {
    int spins = 0;
    auto is_new = [&] { return generation_of(claims_.load(std::memory_order_acquire)) != seen; };
    while (!is_new() && !stopping_.load(std::memory_order_relaxed)) {
      if (++spins < kSpinsBeforeSleep && !resting_.load(std::memory_order_relaxed)) continue;
      std::unique_lock lock(mutex_);
      sleeping_.fetch_add(1);
      wake_.wait(lock, [&] { return stopping_.load() || is_new(); });
      sleeping_.fetch_sub(1);
    }
    if (stopping_.load()) return;
    seen = generation_of(claims_.load(std::memory_order_acquire));
    run_chunks(seen);
  }
}

}  // namespace kvscope
