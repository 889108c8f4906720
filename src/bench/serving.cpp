#include "bench/serving.h"

#include <algorithm>

#include "core/error.h"

namespace kvscope {

int64_t ServedResult::generated_tokens() const {
  int64_t n = 0;
  for (const RequestOutput& o : outputs) n += static_cast<int64_t>(o.output.size());
  return n;
}

bool ServedResult::same_outputs(const ServedResult& other) const {
  if (outputs.size() != other.outputs.size() || logits_hashes != other.logits_hashes) return false;
  for (size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i].output != other.outputs[i].output) return false;
  return true;
}

ServedResult serve_requests(const Model& model, const EngineOptions& options,
                            const std::vector<ServedRequest>& requests, int concurrency,
                            Admission admission) {
  if (requests.empty()) fail("no requests to serve");
  Engine engine(model, options);
  ServedResult result;
  result.logits_hashes.assign(requests.size(), kFnvOffset);
  std::vector<RequestId> ids(requests.size(), 0);
  size_t sent = 0, ended = 0;
  const size_t window = concurrency > 0 ? static_cast<size_t>(concurrency) : requests.size();
  const auto send = [&](size_t i) {
    const ServedRequest& s = requests[i];
    if (s.output_tokens < 1 || s.max_tokens < s.output_tokens)
      fail("request {}: {} output tokens and a max_tokens of {} (expected 1 <= output <= max)",
           i + 1, s.output_tokens, s.max_tokens);
    Request r;
    r.prompt = s.prompt;
    r.max_new_tokens = s.max_tokens;
    r.stop_at_end_token = false;  // every strategy generates exactly the same tokens
    r.on_logits = [&result, i](std::span<const float> l) {
      result.logits_hashes[i] = fnv1a_floats(result.logits_hashes[i], l.data(), l.size());
    };
    r.on_token = [&engine, &ids, &s, i](const TokenEvent& e) {
      if (e.index + 1 == s.output_tokens && !e.last)
        engine.cancel(ids[i]);  // its end, as an end token would be
    };
    r.on_finish = [&ended](const RequestOutput&) { ++ended; };
    ids[i] = engine.add(std::move(r));
  };
  const Clock::time_point start = Clock::now();
  while (ended < requests.size()) {
    if (admission == Admission::kContinuous || sent == ended)
      while (sent < requests.size() && sent - ended < window) send(sent++);
    if (!engine.step() && !engine.idle())
      fail("the engine cannot make progress with {} requests", requests.size());
    const EngineStats stats = engine.stats();
    result.peak_running = std::max(result.peak_running, stats.running);
    result.reserved_byte_steps += static_cast<double>(engine.cache().bytes_reserved());
    result.used_byte_steps += static_cast<double>(engine.cache().bytes_used());
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const EngineStats stats = engine.stats();
  result.steps = stats.steps;
  result.preemptions = stats.preemptions;
  result.prefix_hit_tokens = engine.cache().pool_stats().prefix_hit_tokens;
  result.peak_bytes_reserved = engine.cache().peak_bytes_reserved();
  std::vector<double> ttft, e2e;
  for (RequestId id : ids) {
    const RequestOutput& out = engine.output(id);
    result.outputs.push_back(out);
    result.cached_tokens += out.cached_tokens;
    result.prompt_tokens += out.prompt_tokens;
    // Closed batches stand for requests that all arrived at the start and waited for their
    // batch: their latencies count from then, not from when their batch was sent.
    const Clock::time_point arrived = admission == Admission::kClosedBatches ? start : out.arrival;
    ttft.push_back(std::chrono::duration<double>(out.token_times.front() - arrived).count());
    e2e.push_back(std::chrono::duration<double>(out.token_times.back() - arrived).count());
  }
  result.ttft_s = summarize(ttft);
  result.e2e_s = summarize(e2e);
  return result;
}

}  // namespace kvscope
