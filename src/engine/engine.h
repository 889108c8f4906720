#pragma once
// The engine: one per loaded model. It holds the model, one thread pool, the KV cache of every
// request and a scheduler. Requests are added and cancelled at any time; each step() runs one
// forward pass over a ragged batch (the next token of every running request, then chunks of
// waiting prompts, within a token budget) and samples each request's next token on its own, so
// that a request's tokens never depend on what else is in the batch.
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/observer.h"
#include "core/thread_pool.h"
#include "engine/request.h"
#include "engine/text_output.h"
#include "kvcache/kv_cache.h"
#include "models/forward.h"
#include "models/model.h"

namespace kvscope {

struct EngineOptions {
  CacheStrategy cache = CacheStrategy::kPaged;
  KvType kv_type = KvType::kF32;
  Precision precision = Precision::kFast;
  MatrixKinds split_kinds = 0;  // fast precision: kinds whose activations are split (kSplit)
  int threads = 2;
  int max_seqs = 32;           // requests running at once
  int max_batch_tokens = 512;  // tokens fed in one step
  int n_ctx = 0;               // positions per request; 0: the model's context length
  int block_size = 16;         // paged: positions per block
  size_t kv_budget_bytes = 0;  // KV memory for all requests; 0: max_seqs × n_ctx positions
  bool prefix_cache = false;   // paged: reuse cached blocks of earlier prompts and outputs
  Observer* observer = nullptr;
};

struct EngineStats {
  int running = 0, waiting = 0, parked = 0;
  int64_t steps = 0, prompt_tokens = 0, generated_tokens = 0, preemptions = 0, cancelled = 0;
};

class Engine {
 public:
  Engine(const Model& model, const EngineOptions& options);
  ~Engine();

  // Queues a request; Error when it can never run (empty, longer than the context with its
  // max_new_tokens, or holding more at once than the whole KV budget). Safe from any thread.
  RequestId add(Request request);
  // Ends a request at the next step, freeing all it holds; its output keeps what was generated.
  void cancel(RequestId id);
  // One forward pass; false when there was nothing to run.
  bool step();
  void run_until_idle();  // steps until no request is waiting or running
  bool idle() const;

  // A request's output so far; valid until forget(). From the stepping thread.
  const RequestOutput& output(RequestId id) const;
  // Drops a finished request, and the KV cache it kept. From the stepping thread.
  void forget(RequestId id);
  // Logits at every position of `tokens` fed as one new sequence (teacher forcing),
  // [tokens][vocab].
  std::vector<float> score(const std::vector<int32_t>& tokens);

  void set_observer(Observer* observer);
  const KvCache& cache() const { return *cache_; }
  const Model& model() const { return model_; }
  const EngineOptions& options() const { return options_; }
  int n_ctx() const { return n_ctx_; }
  EngineStats stats() const;
  // The slot each request holding KV memory has in the cache (for the pool view).
  std::vector<std::pair<RequestId, int>> slots() const;

 private:
  enum class State { kWaiting, kRunning, kParked, kDone };
  struct Live {
    Live(Request r, const Tokenizer& tokenizer)
        : request(std::move(r)),
          tokens(request.prompt),
          sampler(request.sampling),
          text(tokenizer, request.stop_strings) {}
    Request request;
    RequestOutput out;
    std::vector<int32_t> tokens;  // the prompt, then each generated token
    int computed = 0;             // leading tokens whose keys and values the cache holds
    int slot = -1;
    State state = State::kWaiting;
    Sampler sampler;
    TextOutput text;
  };
  struct Planned {
    Live* live;
    int n;  // tokens fed this step, from live->computed on
  };

  void take_inbox();
  std::vector<Planned> schedule();  // scheduler.cpp
  bool admit(Live& live, int budget, std::vector<Planned>& plan);
  bool grow(Live& live, int length, std::vector<Planned>& plan);
  void preempt(Live& victim, std::vector<Planned>& plan);
  bool drop_parked();
  int reservation(const Live& live, int length) const;  // positions to reserve for `length` fed
  int peak_positions(int length) const;
  void drop_unseen(const Live& live);
  bool growth_fits(const Live& candidate) const;
  void execute(const std::vector<Planned>& plan);
  void sample(Live& live, std::span<const float> logits);
  void finish(Live& live, StopReason reason);
  void free_slot(Live& live);

  const Model& model_;
  EngineOptions options_;
  int n_ctx_;
  ThreadPool pool_;
  std::unique_ptr<KvCache> cache_;
  Forward forward_;
  std::vector<int32_t> end_ids_;

  // add() and cancel() may come from other threads; everything else runs on the stepping one.
  mutable std::mutex inbox_mutex_;
  std::vector<Live*> inbox_;
  std::vector<RequestId> cancels_;
  RequestId next_id_ = 1;

  std::unordered_map<RequestId, std::unique_ptr<Live>> requests_;
  std::deque<Live*> waiting_;   // first come, first served
  std::vector<Live*> running_;  // in admission order: the newest is preempted first
  std::deque<Live*> parked_;    // oldest first
  std::vector<int> free_slots_;
  EngineStats stats_;
  // The share of its remaining max_new_tokens a running request is expected to still generate,
  // when deciding whether a waiting one fits beside them (scheduler.cpp).
  static constexpr double kInitialNewTokenRatio = 0.7;
  double new_token_ratio_ = kInitialNewTokenRatio;
};

// Error if a KV budget of `bytes` exceeds the memory available.
void check_kv_fits(size_t bytes);

}  // namespace kvscope
