#pragma once
// A Session is the closed-batch client of the engine: a fixed number of sequences, each with its
// token history, generated for together. Each generate() call continues every sequence from
// where it stopped, reusing the KV cache the engine kept for it, so only new tokens are fed.
// Benchmarks, the demo, chat and the command line use it; the server uses the engine directly.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace kvscope {

struct SessionOptions {
  CacheStrategy cache = CacheStrategy::kPrealloc;
  KvType kv_type = KvType::kF32;
  Precision precision = Precision::kFast;
  MatrixKinds split_kinds = 0;  // fast precision: kinds whose activations are split (kSplit)
  int n_seqs = 1;
  int n_ctx = 0;  // positions per sequence; 0: the model's context length
  int threads = 2;
  int block_size = 16;           // paged
  bool prefix_cache = false;     // paged
  int max_batch_tokens = 0;      // tokens fed in one step; 0: every prompt's prefill in one step
  Observer* observer = nullptr;  // sees every op's timing (--detailed-metrics) and each query row
};

// Sees the logits each sequence's next token is sampled from (for verification).
using LogitsCallback = std::function<void(int seq, std::span<const float> logits)>;

struct GenerateOptions {
  int max_new_tokens = 128;
  SamplingOptions sampling;
  std::vector<std::string> stop_strings;
  bool stop_at_end_token = true;
  LogitsCallback on_logits;
};

struct SequenceResult {
  int prompt_tokens = 0;        // tokens fed before the first generated one
  std::vector<int32_t> output;  // generated ids (an end token is not included)
  std::string text;             // their text, without a matched stop string
  StopReason stop = StopReason::kMaxTokens;
  std::vector<Clock::time_point> token_times;  // when each generated token was sampled
};

struct GenerationResult {
  Clock::time_point start;
  std::vector<SequenceResult> sequences;
};

// A finished request's output as a sequence's result: the prompt tokens it fed (those reused from
// the cache left out), and a stop at max_new_tokens short of it counted as the context's end.
SequenceResult sequence_result(const RequestOutput& out, int max_new_tokens);

// Called as each token's text becomes available (whole UTF-8 characters only).
using TokenCallback = std::function<void(int seq, int32_t token, const std::string& text)>;

class Session {
 public:
  Session(const Model& model, const SessionOptions& options);

  // Appends prompts[i] to sequence i's history (i < n_seqs) and generates for each of them,
  // all in one batch; each sequence stops on its own.
  GenerationResult generate(const std::vector<std::vector<int32_t>>& prompts,
                            const GenerateOptions& options, const TokenCallback& on_token = {});

  // Appends tokens[i] to sequence i and runs them through the model in one step, without
  // sampling (the benchmarks' prefill and decode steps). With on_logits, each sequence's last
  // position also goes through the output head and is passed to it.
  void feed(const std::vector<std::vector<int32_t>>& tokens, const LogitsCallback& on_logits = {});

  // Logits of every position of `tokens` fed as one new sequence (teacher forcing),
  // [tokens][vocab].
  std::vector<float> score(const std::vector<int32_t>& tokens) { return engine_.score(tokens); }

  void set_observer(Observer* observer) {
    engine_.set_observer(observer);
  }                     // from the next step on
  void reset(int seq);  // forgets the sequence's history and cache
  const std::vector<int32_t>& history(int seq) const { return history_[seq]; }
  // The cached rows of a sequence in one layer, and how many positions they hold (the paged cache
  // has given back those behind a sliding window in every layer).
  CachedRows cached_rows(int layer, int seq) const;
  int cached_length(int seq) const;
  const KvCache& cache() const { return engine_.cache(); }
  const Model& model() const { return engine_.model(); }
  int n_ctx() const { return engine_.n_ctx(); }
  // Tokens fed through the model by the last generate() call's prefill.
  int64_t last_prefill_tokens() const { return last_prefill_tokens_; }

 private:
  // Runs one request per sequence with a history or tokens to add, until all end; returns their
  // ids.
  std::vector<RequestId> run(const std::vector<std::vector<int32_t>>& added,
                             const GenerateOptions& options, const TokenCallback& on_token);

  Engine engine_;
  int n_seqs_;
  std::vector<std::vector<int32_t>> history_;
  std::vector<RequestId>
      kept_;  // per sequence: the finished request holding its KV cache (0: none)
  int64_t last_prefill_tokens_ = 0;
};

}  // namespace kvscope
