#pragma once
// A Session owns a KV cache and the token history of each of its sequences, and runs
// generation: batched prefill of whatever each sequence has not yet fed, then decode.
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "generate/sampler.h"
#include "kvcache/kv_cache.h"
#include "models/forward.h"
#include "models/model.h"

namespace kvscope {

struct SessionOptions {
  CacheStrategy cache = CacheStrategy::kPrealloc;
  KvType kv_type = KvType::kF32;
  Precision precision = Precision::kFast;
  int n_seqs = 1;
  int n_ctx = 0;  // positions per sequence; 0: the model's context length
  int threads = 2;
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

enum class StopReason { kEndToken, kStopString, kMaxTokens, kContextFull };
std::string_view stop_reason_name(StopReason reason);

using Clock = std::chrono::steady_clock;

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
  // sampling (the benchmarks' prefill and decode steps).
  void feed(const std::vector<std::vector<int32_t>>& tokens);

  // Logits of every position of `tokens` fed as one sequence from an empty slot 0 (teacher
  // forcing), [tokens][vocab].
  std::vector<float> score(const std::vector<int32_t>& tokens);

  void set_observer(Observer* observer);  // from the next step on; null: none
  void reset(int seq);  // forgets the sequence's history and cache
  const std::vector<int32_t>& history(int seq) const { return history_[seq]; }
  const KvCache& cache() const { return *cache_; }
  const Model& model() const { return model_; }
  int n_ctx() const { return n_ctx_; }
  // Tokens fed through the model by the last generate() call's prefill step.
  int64_t last_prefill_tokens() const { return last_prefill_tokens_; }

 private:
  // One forward step: feeds every listed sequence what its cache lacks; returns logit rows.
  const std::vector<float>& step(const std::vector<int>& seqs);

  const Model& model_;
  SessionOptions options_;
  int n_ctx_;
  ThreadPool pool_;
  std::unique_ptr<KvCache> cache_;
  Forward forward_;
  std::vector<std::vector<int32_t>> history_;
  int64_t last_prefill_tokens_ = 0;
};

// Bytes of KV cache a session would reserve; Error if that exceeds the memory available.
void check_kv_fits(const ModelConfig& config, const SessionOptions& options, int n_ctx);

}  // namespace kvscope
