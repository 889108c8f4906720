#pragma once
// The server's engine thread. It alone steps the Engine, reads outputs and forgets finished
// requests; HTTP threads submit requests and receive each one's tokens through its Channel.
// It also keeps the figures /metrics reports, updated from the engine's callbacks and after
// every step.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/engine.h"
#include "serve/prometheus.h"
#include "serve/token_logprob.h"

namespace kvscope::serve {

// What an HTTP thread hears of its request.
struct Event {
  enum class Kind { kToken, kFinish, kError };
  Kind kind = Kind::kToken;
  std::string text;                     // kToken: the text that became showable; kError: why
  std::optional<TokenLogprob> logprob;  // kToken, when asked
  RequestOutput output;                 // kFinish
};

class Channel {
 public:
  void push(Event event);
  // The events that arrived, waiting up to `timeout` for the first; empty if none came.
  std::vector<Event> take(std::chrono::milliseconds timeout);

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<Event> events_;
};

struct Submitted {
  RequestId id = 0;
  std::shared_ptr<Channel> channel;
};

class EngineLoop {
 public:
  // max_queue: requests that may wait beyond the max_seqs running ones.
  EngineLoop(const Model& model, const EngineOptions& options, int max_queue);
  ~EngineLoop();

  // Queues a request (the loop sets its callbacks); top_logprobs < 0 asks for no logprobs.
  // ApiError 429 when the queue is full, 503 once stopping, 400 when the engine refuses it.
  Submitted submit(Request request, int top_logprobs);
  void cancel(RequestId id);
  // Ends every request in flight with an error event and joins the engine thread.
  void stop();
  int n_ctx() const { return engine_.n_ctx(); }
  std::string metrics_text() const;  // Prometheus text

 private:
  struct Tracked {
    std::shared_ptr<Channel> channel;
    int top_logprobs = -1;
    std::vector<float> logits;  // of the token being sampled, when logprobs are asked
    Clock::time_point last_token;
    bool failed = false;  // ended with an error event: the engine's callbacks say no more
  };
  struct Snapshot {  // the engine's state after the last step
    EngineStats stats;
    PoolStats pool;
    size_t bytes_reserved = 0;
  };

  void run();
  void after_step();
  void fail_all(const std::string& why);
  void on_token(Tracked& t, const TokenEvent& e);
  void on_finish(Tracked& t, const RequestOutput& out);

  Engine engine_;
  const size_t max_in_flight_;

  // live_, stopping_: shared with HTTP threads under mutex_.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::unordered_map<RequestId, std::shared_ptr<Tracked>> live_;
  bool stopping_ = false;

  // The engine thread's own.
  std::vector<RequestId> finished_;                            // to forget after the step
  std::unordered_map<RequestId, Clock::time_point> admitted_;  // when each running one began
  Clock::time_point step_start_;

  mutable std::mutex metrics_mutex_;
  Snapshot snapshot_;
  Histogram ttft_, itl_, e2e_, queue_;

  std::thread thread_;  // last: it starts once everything above is built
};

}  // namespace kvscope::serve
