#include "generate/session.h"

#include <algorithm>

#include "core/error.h"

namespace kvscope {
namespace {

EngineOptions engine_options(const Model& model, const SessionOptions& o) {
  EngineOptions e;
  e.cache = o.cache;
  e.kv_type = o.kv_type;
  e.precision = o.precision;
  e.split_kinds = o.split_kinds;
  e.threads = o.threads;
  e.max_seqs = o.n_seqs;
  e.n_ctx = o.n_ctx;
  e.block_size = o.block_size;
  e.prefix_cache = o.prefix_cache;
  const int n_ctx = o.n_ctx > 0 ? std::min(o.n_ctx, model.config().context_length)
                                : model.config().context_length;
  e.max_batch_tokens = o.max_batch_tokens > 0 ? o.max_batch_tokens : std::max(1, o.n_seqs * n_ctx);
  e.observer = o.observer;
  return e;
}

}  // namespace

SequenceResult sequence_result(const RequestOutput& out, int max_new_tokens) {
  SequenceResult s;
  s.prompt_tokens = out.prompt_tokens - out.cached_tokens;
  s.output = out.output;
  s.text = out.text;
  s.stop = out.stop;
  if (s.stop == StopReason::kMaxTokens && static_cast<int>(out.output.size()) < max_new_tokens)
    s.stop = StopReason::kContextFull;
  s.token_times = out.token_times;
  return s;
}

Session::Session(const Model& model, const SessionOptions& options)
    : engine_(model, engine_options(model, options)),
      n_seqs_(options.n_seqs),
      history_(static_cast<size_t>(options.n_seqs)),
      kept_(static_cast<size_t>(options.n_seqs), 0) {}

void Session::reset(int seq) {
  history_.at(seq).clear();
  if (kept_[seq] != 0) engine_.forget(kept_[seq]);
  kept_[seq] = 0;
}

CachedRows Session::cached_rows(int layer, int seq) const {
  for (const auto& [id, slot] : engine_.slots())
    if (id == kept_.at(seq)) return engine_.cache().view(layer, slot);
  fail("sequence {} holds no cached rows", seq);
}

int Session::cached_length(int seq) const {
  for (const auto& [id, slot] : engine_.slots())
    if (id == kept_.at(seq)) return engine_.cache().length(slot);
  return 0;
}

std::vector<RequestId> Session::run(const std::vector<std::vector<int32_t>>& added,
                                    const GenerateOptions& options, const TokenCallback& on_token) {
  std::vector<RequestId> ids(added.size(), 0);
  for (size_t i = 0; i < added.size(); ++i) {
    Request r;
    r.prompt = history_[i];
    r.prompt.insert(r.prompt.end(), added[i].begin(), added[i].end());
    if (r.prompt.empty()) continue;
    // A sequence may run to the end of its context, where it stops (StopReason::kContextFull).
    r.max_new_tokens =
        std::min(options.max_new_tokens, engine_.n_ctx() - static_cast<int>(r.prompt.size()));
    r.sampling = options.sampling;
    r.stop_strings = options.stop_strings;
    r.stop_at_end_token = options.stop_at_end_token;
    r.keep_kv = true;
    r.continue_from = kept_[i];
    const int seq = static_cast<int>(i);
    if (on_token)
      r.on_token = [&on_token, seq](const TokenEvent& e) {
        if (!e.text.empty()) on_token(seq, e.token, e.text);
      };
    if (options.on_logits)
      r.on_logits = [&options, seq](std::span<const float> l) { options.on_logits(seq, l); };
    ids[i] = engine_.add(std::move(r));
  }
  engine_.run_until_idle();
  for (size_t i = 0; i < added.size(); ++i) {
    if (ids[i] == 0) continue;
    if (kept_[i] != 0) engine_.forget(kept_[i]);
    kept_[i] = ids[i];
    history_[i].insert(history_[i].end(), added[i].begin(), added[i].end());
    const std::vector<int32_t>& output = engine_.output(ids[i]).output;
    history_[i].insert(history_[i].end(), output.begin(), output.end());
  }
  return ids;
}

void Session::feed(const std::vector<std::vector<int32_t>>& tokens,
                   const LogitsCallback& on_logits) {
  if (tokens.size() > static_cast<size_t>(n_seqs_))
    fail("{} sequences fed, the session holds {}", tokens.size(), n_seqs_);
  for (size_t i = 0; i < tokens.size(); ++i)
    if (history_[i].size() + tokens[i].size() > static_cast<size_t>(engine_.n_ctx()))
      fail("sequence {} would reach {} tokens, the context holds {}", i,
           history_[i].size() + tokens[i].size(), engine_.n_ctx());
  GenerateOptions prefill_only;
  prefill_only.max_new_tokens = 0;
  prefill_only.on_logits = on_logits;
  run(tokens, prefill_only, {});
}

GenerationResult Session::generate(const std::vector<std::vector<int32_t>>& prompts,
                                   const GenerateOptions& options, const TokenCallback& on_token) {
  const int n = static_cast<int>(prompts.size());
  if (n == 0 || n > n_seqs_)
    fail("{} prompts given, the session holds 1 to {} sequences", n, n_seqs_);
  if (options.max_new_tokens < 1)
    fail("generate at least one token, not {}", options.max_new_tokens);
  for (int i = 0; i < n; ++i) {
    if (prompts[i].empty() && history_[i].empty()) fail("prompt {} is empty", i + 1);
    const size_t total = history_[i].size() + prompts[i].size();
    if (total >= static_cast<size_t>(engine_.n_ctx()))
      fail("prompt {} has {} tokens, the context holds {} (one more is needed to generate)", i + 1,
           total, engine_.n_ctx());
  }
  GenerationResult result;
  result.start = Clock::now();
  const std::vector<RequestId> ids = run(prompts, options, on_token);
  last_prefill_tokens_ = 0;
  for (int i = 0; i < n; ++i) {
    const RequestOutput& out = engine_.output(ids[i]);
    SequenceResult s = sequence_result(out, options.max_new_tokens);
    last_prefill_tokens_ += s.prompt_tokens;
    result.sequences.push_back(std::move(s));
  }
  return result;
}

}  // namespace kvscope
