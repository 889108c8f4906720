#include "generate/session.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <span>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace kvscope {
namespace {

// MemAvailable from /proc/meminfo, in bytes (0 if unknown).
uint64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

KvShape kv_shape(const ModelConfig& c, const SessionOptions& options, int n_ctx) {
  return {c.n_layers, c.kv_dim(), options.n_seqs, n_ctx, options.kv_type};
}

// Where the earliest stop string starts in `text`, if one occurs.
std::optional<size_t> find_stop_string(const std::string& text, const std::vector<std::string>& stops) {
  std::optional<size_t> first;
  for (const std::string& s : stops) {
    const size_t at = s.empty() ? std::string::npos : text.find(s);
    if (at != std::string::npos && (!first || at < *first)) first = at;
  }
  return first;
}

// How much of `text` can be shown without showing the start of a stop string still being typed.
size_t safe_to_stream(const std::string& text, const std::vector<std::string>& stops) {
  size_t held = 0;
  for (const std::string& s : stops)
    for (size_t len = std::min(s.size() - 1, text.size()); len > held; --len)
      if (text.compare(text.size() - len, len, s, 0, len) == 0) {
        held = len;
        break;
      }
  return text.size() - held;
}

}  // namespace

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kEndToken: return "end token";
    case StopReason::kStopString: return "stop string";
    case StopReason::kMaxTokens: return "max tokens";
    case StopReason::kContextFull: return "context full";
  }
  return "?";
}

void check_kv_fits(const ModelConfig& config, const SessionOptions& options, int n_ctx) {
  // Every strategy may hold the whole context of every sequence at some step.
  const double needed =
      static_cast<double>(kv_shape(config, options, n_ctx).bytes_per_token()) * n_ctx * options.n_seqs;
  const uint64_t available = available_memory();
  if (available != 0 && needed > 0.9 * static_cast<double>(available))
    fail("a batch of {} sequences of {} tokens needs {:.2f} GiB of KV cache, but only {:.2f} GiB of "
         "memory is available (use fewer sequences, a shorter context or --kv-type f16)",
         options.n_seqs, n_ctx, needed / (1 << 30), static_cast<double>(available) / (1 << 30));
}

Session::Session(const Model& model, const SessionOptions& options)
    : model_(model),
      options_(options),
      n_ctx_(options.n_ctx > 0 ? std::min(options.n_ctx, model.config().context_length)
                               : model.config().context_length),
      pool_(options.threads),
      forward_(model, pool_, options.precision, options.observer),
      history_(static_cast<size_t>(options.n_seqs)) {
  check_kv_fits(model.config(), options, n_ctx_);
  cache_ = make_kv_cache(options.cache, kv_shape(model.config(), options, n_ctx_));
}

void Session::set_observer(Observer* observer) {
  options_.observer = observer;
  forward_.set_observer(observer);
}

void Session::reset(int seq) {
  history_[seq].clear();
  cache_->truncate(seq, 0);
}

const std::vector<float>& Session::step(const std::vector<int>& seqs) {
  std::vector<ForwardChunk> chunks;
  for (int seq : seqs) {
    // Without a cache, every step starts from nothing and feeds the whole history again.
    if (!cache_->keeps_history()) cache_->truncate(seq, 0);
    const int cached = cache_->length(seq);
    ForwardChunk chunk;
    chunk.seq = seq;
    chunk.start_pos = cached;
    chunk.tokens.assign(history_[seq].begin() + cached, history_[seq].end());
    chunks.push_back(std::move(chunk));
  }
  return forward_.run(chunks, *cache_);
}

void Session::feed(const std::vector<std::vector<int32_t>>& tokens) {
  std::vector<int> seqs;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (history_[i].size() + tokens[i].size() > static_cast<size_t>(n_ctx_))
      fail("sequence {} would reach {} tokens, the context holds {}", i, history_[i].size() + tokens[i].size(), n_ctx_);
    history_[i].insert(history_[i].end(), tokens[i].begin(), tokens[i].end());
    seqs.push_back(static_cast<int>(i));
  }
  step(seqs);
}

std::vector<float> Session::score(const std::vector<int32_t>& tokens) {
  if (tokens.empty()) fail("nothing to score: the token list is empty");
  if (static_cast<int>(tokens.size()) > n_ctx_)
    fail("{} tokens do not fit the context of {}", tokens.size(), n_ctx_);
  reset(0);
  std::vector<ForwardChunk> chunks(1);
  chunks[0].tokens = tokens;
  chunks[0].all_logits = true;
  std::vector<float> logits = forward_.run(chunks, *cache_);
  history_[0] = tokens;
  return logits;
}

GenerationResult Session::generate(const std::vector<std::vector<int32_t>>& prompts,
                                   const GenerateOptions& options, const TokenCallback& on_token) {
  const int n = static_cast<int>(prompts.size());
  if (n == 0 || n > options_.n_seqs)
    fail("{} prompts given, the session holds 1 to {} sequences", n, options_.n_seqs);
  for (int i = 0; i < n; ++i) {
    if (prompts[i].empty() && history_[i].empty()) fail("prompt {} is empty", i + 1);
    const size_t total = history_[i].size() + prompts[i].size();
    if (total >= static_cast<size_t>(n_ctx_))
      fail("prompt {} has {} tokens, the context holds {} (one more is needed to generate)", i + 1,
           total, n_ctx_);
  }

  const Tokenizer& tokenizer = model_.tokenizer();
  const std::vector<int32_t> end_ids = tokenizer.end_ids();
  const int vocab = model_.config().vocab_size;
  GenerationResult result;
  result.start = Clock::now();
  result.sequences.resize(n);
  std::vector<Sampler> samplers;
  std::vector<StreamDecoder> decoders;
  std::vector<int> active;
  std::vector<size_t> streamed(n, 0);  // bytes of each text already passed to on_token
  for (int i = 0; i < n; ++i) {
    samplers.emplace_back(options.sampling);
    decoders.emplace_back(tokenizer);
    history_[i].insert(history_[i].end(), prompts[i].begin(), prompts[i].end());
    result.sequences[i].prompt_tokens = static_cast<int>(history_[i].size()) - cache_->length(i);
    active.push_back(i);
  }
  last_prefill_tokens_ = 0;
  for (int i : active) last_prefill_tokens_ += result.sequences[i].prompt_tokens;

  while (!active.empty()) {
    const std::vector<float>& logits = step(active);
    std::vector<int> still_active;
    for (size_t row = 0; row < active.size(); ++row) {
      const int seq = active[row];
      SequenceResult& r = result.sequences[seq];
      const std::span<const float> row_logits(&logits[row * vocab], vocab);
      if (options.on_logits) options.on_logits(seq, row_logits);
      int32_t token;
      {
        ScopedOp op(options_.observer, OpKind::kSampling, -1);
        token = samplers[seq].sample(row_logits, history_[seq]);
      }
      r.token_times.push_back(Clock::now());
      const bool is_end = std::find(end_ids.begin(), end_ids.end(), token) != end_ids.end();
      if (options.stop_at_end_token && is_end) {
        r.stop = StopReason::kEndToken;
        r.text += decoders[seq].flush();
        if (on_token && r.text.size() > streamed[seq]) on_token(seq, token, r.text.substr(streamed[seq]));
        continue;
      }
      history_[seq].push_back(token);
      r.output.push_back(token);
      r.text += decoders[seq].push(token);
      bool done = true;
      if (auto cut = find_stop_string(r.text, options.stop_strings)) {
        r.text.resize(*cut);
        r.stop = StopReason::kStopString;
      } else if (static_cast<int>(r.output.size()) >= options.max_new_tokens) {
        r.stop = StopReason::kMaxTokens;
      } else if (static_cast<int>(history_[seq].size()) >= n_ctx_) {
        r.stop = StopReason::kContextFull;
      } else {
        done = false;
      }
      if (done && r.stop != StopReason::kStopString) r.text += decoders[seq].flush();
      const size_t shown = done ? r.text.size() : safe_to_stream(r.text, options.stop_strings);
      if (on_token && shown > streamed[seq]) on_token(seq, token, r.text.substr(streamed[seq], shown - streamed[seq]));
      streamed[seq] = std::max(streamed[seq], shown);
      if (!done) still_active.push_back(seq);
    }
    active = std::move(still_active);
  }
  return result;
}

}  // namespace kvscope
