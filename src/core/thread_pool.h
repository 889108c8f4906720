#pragma once
// A persistent pool of worker threads. parallel_for splits [0, n) into fixed chunks that the
// threads claim one at a time, so each index is computed by a single call with the same code:
// results do not depend on the thread count or on which thread ran a chunk.
//
// A forward pass issues hundreds of short jobs per token, so idle workers spin for a while
// before sleeping: waking a sleeping thread costs tens of microseconds, a spinning one far less.
// Claiming (rather than one fixed chunk per thread) keeps a descheduled worker from stalling a
// job: when another process holds its core, the threads that run take its chunks, and the caller
// waits only for chunks already started.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kvscope {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n); the caller's thread takes part.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

  // Until the next parallel_for, idle workers sleep at once instead of spinning: the caller has
  // serial work ahead (a forward pass is over), and their cores can serve other threads (a
  // server's HTTP threads and its clients) meanwhile.
  void rest() { resting_.store(true, std::memory_order_relaxed); }

 private:
  void worker_loop();
  // Runs chunks of the job published as `generation` until none is left to claim.
  void run_chunks(uint32_t generation);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // The current job: written by the caller before it publishes the job's generation, read only
  // by a thread that has claimed one of its chunks (which the caller waits for).
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_size_ = 0;
  int64_t chunk_size_ = 0;
  int64_t chunk_count_ = 0;
  // High 32 bits: the job's generation; low 32 bits: chunks not yet claimed.
  std::atomic<uint64_t> claims_{0};
  std::atomic<int64_t> chunks_done_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> resting_{false};
};

}  // namespace kvscope
