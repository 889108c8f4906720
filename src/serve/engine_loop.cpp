#include "serve/engine_loop.h"

#include <fmt/format.h>

#include "core/error.h"
#include "serve/api_error.h"

namespace kvscope::serve {
namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

void Channel::push(Event event) {
  {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  ready_.notify_one();
}

std::vector<Event> Channel::take(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return !events_.empty(); });
  std::vector<Event> out;
  out.swap(events_);
  return out;
}

EngineLoop::EngineLoop(const Model& model, const EngineOptions& options, int max_queue)
    : engine_(model, options),
      max_in_flight_(static_cast<size_t>(options.max_seqs + max_queue)),
      ttft_(latency_buckets()),
      itl_(latency_buckets()),
      e2e_(latency_buckets()),
      queue_(latency_buckets()),
      thread_([this] { run(); }) {}

EngineLoop::~EngineLoop() { stop(); }

Submitted EngineLoop::submit(Request request, int top_logprobs) {
  auto tracked = std::make_shared<Tracked>();
  tracked->channel = std::make_shared<Channel>();
  tracked->top_logprobs = top_logprobs;
  Tracked* t = tracked.get();  // lives in live_ until the engine thread forgets the request
  if (top_logprobs >= 0)
    request.on_logits = [t](std::span<const float> l) { t->logits.assign(l.begin(), l.end()); };
  request.on_token = [this, t](const TokenEvent& e) { on_token(*t, e); };
  request.on_finish = [this, t](const RequestOutput& out) { on_finish(*t, out); };
  std::lock_guard lock(mutex_);
  if (stopping_) throw ApiError(503, "the server is shutting down", "server_error");
  if (live_.size() >= max_in_flight_)
    throw ApiError(
        429,
        fmt::format("the server's queue is full ({} requests in flight); try again later",
                    live_.size()),
        "rate_limit_error", "", "rate_limit_exceeded");
  RequestId id;
  try {
    id = engine_.add(std::move(request));
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
  live_.emplace(id, tracked);
  wake_.notify_one();
  return {id, tracked->channel};
}

void EngineLoop::cancel(RequestId id) {
  engine_.cancel(id);
  wake_.notify_one();
}

void EngineLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  fail_all("the server is shutting down");
}

void EngineLoop::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !engine_.idle(); });
      if (stopping_) return;
    }
    step_start_ = Clock::now();
    bool progressed = false;
    try {
      progressed = engine_.step();
    } catch (const Error& e) {
      fmt::print(stderr, "kvscope serve: engine step failed: {}\n", e.what());
      fail_all(fmt::format("the engine failed: {}", e.what()));
    }
    after_step();
    if (!progressed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void EngineLoop::after_step() {
  for (const auto& [id, slot] : engine_.slots()) admitted_.try_emplace(id, step_start_);
  std::vector<std::shared_ptr<Tracked>> ended;  // destroyed outside the lock
  {
    std::lock_guard lock(mutex_);
    for (RequestId id : finished_) {
      engine_.forget(id);
      admitted_.erase(id);
      const auto found = live_.find(id);
      if (found == live_.end()) continue;
      ended.push_back(std::move(found->second));
      live_.erase(found);
    }
  }
  finished_.clear();
  std::lock_guard lock(metrics_mutex_);
  snapshot_ = {engine_.stats(), engine_.cache().pool_stats(), engine_.cache().bytes_reserved()};
}

void EngineLoop::fail_all(const std::string& why) {
  std::lock_guard lock(mutex_);
  for (auto& [id, t] : live_) {
    if (t->failed) continue;
    t->failed = true;
    engine_.cancel(id);
    t->channel->push({Event::Kind::kError, why, {}, {}});
  }
}

void EngineLoop::on_token(Tracked& t, const TokenEvent& e) {
  {
    std::lock_guard lock(metrics_mutex_);
    if (e.index == 0)
      ttft_.observe(seconds_between(engine_.output(e.id).arrival, e.time));
    else
      itl_.observe(seconds_between(t.last_token, e.time));
  }
  t.last_token = e.time;
  if (t.failed) return;
  Event event{Event::Kind::kToken, e.text, {}, {}};
  if (t.top_logprobs >= 0) event.logprob = token_logprob(t.logits, e.token, t.top_logprobs);
  t.channel->push(std::move(event));
}

void EngineLoop::on_finish(Tracked& t, const RequestOutput& out) {
  finished_.push_back(out.id);
  {
    std::lock_guard lock(metrics_mutex_);
    const auto admitted = admitted_.find(out.id);
    if (out.stop != StopReason::kCancelled || admitted != admitted_.end())
      queue_.observe(seconds_between(out.arrival,
                                     admitted != admitted_.end() ? admitted->second : step_start_));
    if (!out.token_times.empty())
      e2e_.observe(seconds_between(out.arrival, out.token_times.back()));
  }
  if (t.failed) return;
  t.channel->push({Event::Kind::kFinish, "", {}, out});
}

std::string EngineLoop::metrics_text() const {
  std::lock_guard lock(metrics_mutex_);
  const EngineStats& s = snapshot_.stats;
  const PoolStats& p = snapshot_.pool;
  return gauge("kvscope_requests_running", "Requests in the running batch", s.running) +
         gauge("kvscope_requests_waiting", "Requests queued for admission", s.waiting) +
         gauge("kvscope_kv_blocks_total", "KV cache blocks in the pool", p.blocks_total) +
         gauge("kvscope_kv_blocks_used", "KV cache blocks referenced by a request", p.blocks_used) +
         gauge("kvscope_kv_blocks_cached", "Unreferenced KV blocks kept for prefix reuse",
               p.blocks_cached) +
         gauge("kvscope_kv_bytes_reserved", "KV cache bytes held for requests",
               static_cast<double>(snapshot_.bytes_reserved)) +
         counter("kvscope_prefix_hit_tokens_total", "Prompt tokens reused from the prefix cache",
                 p.prefix_hit_tokens) +
         counter("kvscope_prompt_tokens_total", "Prompt tokens computed", s.prompt_tokens) +
         counter("kvscope_generation_tokens_total", "Tokens generated", s.generated_tokens) +
         counter("kvscope_preemptions_total", "Requests preempted for KV memory", s.preemptions) +
         counter("kvscope_requests_aborted_total", "Requests cancelled before their end",
                 s.cancelled) +
         counter("kvscope_engine_steps_total", "Forward passes", s.steps) +
         ttft_.render("kvscope_time_to_first_token_seconds", "Time from arrival to first token") +
         itl_.render("kvscope_inter_token_latency_seconds", "Time between successive tokens") +
         e2e_.render("kvscope_e2e_request_latency_seconds", "Time from arrival to last token") +
         queue_.render("kvscope_request_queue_time_seconds",
                       "Time from arrival to the step that admitted the request");
}

}  // namespace kvscope::serve
