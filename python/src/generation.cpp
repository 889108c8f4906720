#include "generation.h"

#include <algorithm>

#include "core/error.h"

namespace kvscope::python {
namespace {

EngineOptions engine_options(const std::vector<std::vector<int32_t>>& prompts,
                             const GenerationSettings& s) {
  if (prompts.empty()) fail("no prompt given");
  if (s.max_new_tokens < 1) fail("max_new_tokens must be at least 1, not {}", s.max_new_tokens);
  // The command line's checks of the same options.
  const SamplingOptions& o = s.sampling;
  if (o.temperature < 0) fail("temperature must be at least 0, not {}", o.temperature);
  if (o.top_k < 0) fail("top_k must be at least 0, not {}", o.top_k);
  if (o.top_p < 0 || o.top_p > 1) fail("top_p must be from 0 to 1, not {}", o.top_p);
  if (o.min_p < 0 || o.min_p > 1) fail("min_p must be from 0 to 1, not {}", o.min_p);
  if (o.repeat_penalty <= 0) fail("repeat_penalty must be above 0, not {}", o.repeat_penalty);
  EngineOptions e = s.engine;
  size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.size());
  // Reserve what this batch can reach, not the model's whole context.
  if (e.n_ctx == 0) e.n_ctx = static_cast<int>(longest) + s.max_new_tokens;
  e.max_seqs = static_cast<int>(prompts.size());
  e.max_batch_tokens = e.max_seqs * e.n_ctx;  // every prompt's prefill in one step
  return e;
}

}  // namespace

Generation::Generation(const Model& model, const std::vector<std::vector<int32_t>>& prompts,
                       GenerationSettings settings)
    : model_(model),
      settings_(std::move(settings)),
      engine_(model, engine_options(prompts, settings_)) {
  reset_peak_memory();
  before_ = read_memory();
  start_ = Clock::now();
  unshown_tokens_.assign(prompts.size(), 0);
  for (size_t i = 0; i < prompts.size(); ++i) {
    Request r;
    r.prompt = prompts[i];
    r.max_new_tokens = settings_.max_new_tokens;
    r.sampling = settings_.sampling;
    r.stop_strings = settings_.stop_strings;
    r.keep_kv = true;  // the cache's bytes at the end are those `kvscope run` reports
    const int seq = static_cast<int>(i);
    r.on_token = [this, seq](const TokenEvent& e) {
      ++unshown_tokens_[seq];
      if (e.text.empty()) return;  // part of a character, or a token with no text
      pieces_.push_back({seq, e.token, e.text,
                         std::chrono::duration<double>(e.time - start_).count(),
                         std::exchange(unshown_tokens_[seq], 0)});
    };
    try {
      ids_.push_back(engine_.add(std::move(r)));
    } catch (const Error& e) {
      if (prompts.size() == 1) throw;
      fail("prompt {}: {}", i + 1, e.what());
    }
  }
}

bool Generation::step() {
  if (engine_.idle()) return false;
  if (!engine_.step() && !engine_.idle())
    fail("the engine cannot make progress: a request does not fit the KV memory left");
  if (engine_.idle()) after_ = read_memory();
  return !engine_.idle();
}

std::vector<Piece> Generation::take_pieces() { return std::exchange(pieces_, {}); }

void Generation::cancel() {
  for (RequestId id : ids_) engine_.cancel(id);
  while (step()) {
  }
}

SequenceResult Generation::result(int seq) const {
  const RequestOutput& out = engine_.output(ids_.at(static_cast<size_t>(seq)));
  if (!out.finished) fail("sequence {} has not finished", seq + 1);
  return sequence_result(out, settings_.max_new_tokens);
}

Metrics Generation::metrics(int seq) const {
  const KvCache& cache = engine_.cache();
  return {request_metrics(start_, result(seq)),
          {before_, after_, cache.bytes_reserved(), cache.bytes_used(),
           cache.shape().bytes_per_token(), model_.file().file_bytes, model_.packed_bytes()}};
}

}  // namespace kvscope::python
