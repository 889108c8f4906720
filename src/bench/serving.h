#pragma once
// Requests driven through one engine as a server sees them: all queued at once, or at most
// `concurrency` in flight with the next sent as one ends (or closed batches, the baseline). Each
// request declares max_tokens (what a contiguous cache must reserve for) and ends after its own
// output length, as if it had written its end token there. Memory is sampled after every step.
#include <cstdint>
#include <vector>

#include "core/hash.h"
#include "engine/engine.h"
#include "metrics/stats.h"

namespace kvscope {

struct ServedRequest {
  std::vector<int32_t> prompt;
  int output_tokens = 0;  // generated before it ends
  int max_tokens = 0;     // declared upper bound (at least output_tokens)
};

struct ServedResult {
  std::vector<RequestOutput> outputs;   // in request order
  std::vector<uint64_t> logits_hashes;  // per request, of every logit it was sampled from
  double seconds = 0;
  int peak_running = 0;
  int64_t steps = 0, preemptions = 0, prefix_hit_tokens = 0, cached_tokens = 0, prompt_tokens = 0;
  size_t peak_bytes_reserved = 0;
  double reserved_byte_steps = 0, used_byte_steps = 0;  // summed over steps
  Summary ttft_s, e2e_s;

  // Share of the reserved KV memory not holding a live token, averaged over steps.
  double waste_percent() const {
    return reserved_byte_steps > 0 ? 100.0 * (1.0 - used_byte_steps / reserved_byte_steps) : 0.0;
  }
  int64_t generated_tokens() const;
  bool same_outputs(const ServedResult& other) const;
};

// How requests are let in: all at the start (concurrency 0), the next as one ends, or in closed
// batches of `concurrency`, each sent when the whole batch before it has ended (as a closed-batch
// generate() runs them).
enum class Admission { kContinuous, kClosedBatches };
ServedResult serve_requests(const Model& model, const EngineOptions& options,
                            const std::vector<ServedRequest>& requests, int concurrency,
                            Admission admission = Admission::kContinuous);

}  // namespace kvscope
