#pragma once
// What the pool view shows, captured from a real run of the engine on the paged pool: requests
// arriving over the steps, most of them sharing a system prompt, against a pool small enough
// that cached blocks are evicted and requests preempted. One frame per engine step, taken after
// it: who holds each block, which are shared or cached, which were evicted, who was preempted.
#include <string>
#include <vector>

#include "kvcache/kv_cache.h"
#include "models/model.h"

namespace kvscope::report {

// The default mix: request i arrives at step i × arrival_gap (or as soon as the engine is idle);
// two of every three share a system prompt of shared_tokens and add a suffix of their own, the
// third has a prompt of its own; outputs are of new_tokens plus 0, 8 or 16, never stopping early.
struct PoolMix {
  int requests = 12;
  int shared_tokens = 48, suffix_tokens = 24, own_tokens = 40, new_tokens = 16;
  int arrival_gap = 2;
  int block_size = 16;
  int blocks = 24;  // the KV budget, in blocks
  bool prefix_cache = true;
  int threads = 2;
};

struct PoolFrame {
  int step = 0;  // 1 for the first
  int running = 0, waiting = 0;
  PoolStats stats;
  std::vector<BlockState> blocks;
  std::vector<int> owner;      // per block: the first request (by arrival) holding it, or -1
  std::vector<bool> evicted;   // per block: its cached contents were dropped in this step
  std::vector<int> preempted;  // requests preempted in this step
};

struct PoolCapture {
  std::string model_name;
  int requests = 0, block_size = 0, blocks = 0;
  int64_t steps = 0;  // the engine's count
  std::vector<PoolFrame> frames;
};

// Runs the mix to the end; Error when it cannot run (no requests, a request larger than the pool).
PoolCapture capture_pool(const Model& model, const PoolMix& mix);

}  // namespace kvscope::report
