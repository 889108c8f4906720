#include "report/pool_capture.h"

#include <unordered_map>

#include "bench/prefix.h"
#include "core/error.h"
#include "engine/engine.h"

namespace kvscope::report {
namespace {

std::vector<Request> mix_requests(const Model& model, const PoolMix& m) {
  const int sharing = m.requests - m.requests / 3;
  const std::vector<ServedRequest> shared =
      prefix_requests(model, {.requests = sharing,
                              .shared_tokens = m.shared_tokens,
                              .suffix_tokens = m.suffix_tokens,
                              .new_tokens = m.new_tokens});
  std::vector<Request> out;
  for (int i = 0, next_shared = 0; i < m.requests; ++i) {
    Request r;
    r.prompt = i % 3 == 2 ? benchmark_prompt(model, m.own_tokens, 7 + 31 * i)
                          : shared[next_shared++].prompt;
    r.max_new_tokens = m.new_tokens + 8 * (i % 3);
    r.stop_at_end_token = false;
    out.push_back(std::move(r));
  }
  return out;
}

PoolFrame take_frame(const Engine& engine, const std::unordered_map<RequestId, int>& index,
                     const std::vector<BlockState>& before) {
  const KvCache& cache = engine.cache();
  PoolFrame f;
  const EngineStats s = engine.stats();
  f.step = static_cast<int>(s.steps);
  f.running = s.running;
  f.waiting = s.waiting;
  f.stats = cache.pool_stats();
  f.blocks = cache.block_states();
  f.owner.assign(f.blocks.size(), -1);
  for (const auto& [id, slot] : engine.slots())
    for (int32_t b : cache.block_table(slot))
      if (f.owner[b] < 0 || index.at(id) < f.owner[b]) f.owner[b] = index.at(id);
  f.evicted.assign(f.blocks.size(), false);
  for (size_t b = 0; b < f.blocks.size() && b < before.size(); ++b)
    f.evicted[b] = f.blocks[b].evictions > before[b].evictions;
  return f;
}

}  // namespace

PoolCapture capture_pool(const Model& model, const PoolMix& m) {
  if (m.requests < 1) fail("the pool view needs at least one request");
  if (m.block_size < 1) fail("the KV block size must be at least 1, not {}", m.block_size);
  if (m.blocks < 1) fail("the pool needs at least one block, not {}", m.blocks);
  const ModelConfig& c = model.config();
  const KvShape shape{
      .n_layers = c.n_layers, .kv_dim = c.n_kv_heads * c.head_dim, .block_size = m.block_size};
  Engine engine(model, {.cache = CacheStrategy::kPaged,
                        .threads = m.threads,
                        .block_size = m.block_size,
                        .kv_budget_bytes =
                            static_cast<size_t>(m.blocks) * m.block_size * shape.bytes_per_token(),
                        .prefix_cache = m.prefix_cache});
  PoolCapture capture;
  capture.model_name = c.name;
  capture.requests = m.requests;
  capture.block_size = m.block_size;
  capture.blocks = m.blocks;
  std::vector<Request> requests = mix_requests(model, m);
  std::vector<RequestId> ids;
  std::unordered_map<RequestId, int> index;
  std::vector<BlockState> before = engine.cache().block_states();
  while (static_cast<int>(ids.size()) < m.requests || !engine.idle()) {
    const int step = static_cast<int>(capture.frames.size());
    for (int next = static_cast<int>(ids.size());
         next < m.requests && (next * m.arrival_gap <= step || engine.idle()); ++next) {
      ids.push_back(engine.add(std::move(requests[next])));
      index[ids.back()] = next;
    }
    std::vector<int> preemptions;
    for (RequestId id : ids) preemptions.push_back(engine.output(id).preemptions);
    if (!engine.step()) break;
    PoolFrame& frame = capture.frames.emplace_back(take_frame(engine, index, before));
    for (size_t i = 0; i < ids.size(); ++i)
      if (engine.output(ids[i]).preemptions > preemptions[i])
        frame.preempted.push_back(static_cast<int>(i));
    before = frame.blocks;
  }
  capture.steps = engine.stats().steps;
  return capture;
}

}  // namespace kvscope::report
