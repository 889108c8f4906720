#include "engine/engine.h"

#include <algorithm>
#include <fstream>
#include <optional>

#include "core/error.h"

namespace kvscope {
namespace {

// MemAvailable from /proc/meminfo, in bytes (0 if unknown).
uint64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kib = 0;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

}  // namespace

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kEndToken:
      return "end token";
    case StopReason::kStopString:
      return "stop string";
    case StopReason::kMaxTokens:
      return "max tokens";
    case StopReason::kContextFull:
      return "context full";
    case StopReason::kCancelled:
      return "cancelled";
  }
  return "?";
}

void check_kv_fits(size_t bytes) {
  const uint64_t available = available_memory();
  if (available != 0 && static_cast<double>(bytes) > 0.9 * static_cast<double>(available))
    fail(
        "the KV cache needs {:.2f} GiB, but only {:.2f} GiB of memory is available (use fewer "
        "sequences, a "
        "shorter context, a smaller KV budget or --kv-type f16)",
        static_cast<double>(bytes) / (1 << 30), static_cast<double>(available) / (1 << 30));
}

Engine::Engine(const Model& model, const EngineOptions& options)
    : model_(model),
      options_(options),
      n_ctx_(options.n_ctx > 0 ? std::min(options.n_ctx, model.config().context_length)
                               : model.config().context_length),
      pool_(options.threads),
      forward_(model, pool_, options.precision, options.split_kinds, options.observer),
      end_ids_(model.tokenizer().end_ids()) {
  if (options.max_seqs < 1)
    fail("the engine needs room for at least one request (max_seqs {})", options.max_seqs);
  if (options.max_batch_tokens < 1)
    fail("the token budget of a step must be at least 1, not {}", options.max_batch_tokens);
  const ModelConfig& c = model.config();
  if (options.kv_type == KvType::kQ8_0 && c.head_dim % 32 != 0)
    fail("a q8_0 KV cache stores blocks of 32 values, and this model's heads have {}", c.head_dim);
  const KvShape shape{
      c.n_layers,      c.kv_dim(),         options.max_seqs,        n_ctx_,
      options.kv_type, options.block_size, options.kv_budget_bytes, options.prefix_cache};
  check_kv_fits(shape.budget());
  cache_ = make_kv_cache(options.cache, shape);
  for (int slot = options.max_seqs - 1; slot >= 0; --slot) free_slots_.push_back(slot);
}

Engine::~Engine() = default;

RequestId Engine::add(Request request) {
  const int prompt = static_cast<int>(request.prompt.size());
  if (prompt == 0) fail("the prompt is empty");
  if (request.max_new_tokens < 0)
    fail("max_new_tokens must not be negative, not {}", request.max_new_tokens);
  const int vocab = model_.config().vocab_size;
  for (int32_t id : request.prompt)
    if (id < 0 || id >= vocab) fail("token id {} is outside the vocabulary of {}", id, vocab);
  const int64_t longest = static_cast<int64_t>(prompt) + request.max_new_tokens;
  if (longest > n_ctx_)
    fail(
        "the prompt's {} tokens and up to {} new ones exceed the context of {} "
        "(context_length_exceeded)",
        prompt, request.max_new_tokens, n_ctx_);
  if (!cache_->could_fit(peak_positions(static_cast<int>(longest))))
    fail(
        "the prompt's {} tokens and up to {} new ones need more KV memory than the whole budget "
        "holds",
        prompt, request.max_new_tokens);
  auto live = std::make_unique<Live>(std::move(request), model_.tokenizer());
  live->out.prompt_tokens = prompt;
  live->out.arrival = Clock::now();
  std::lock_guard lock(inbox_mutex_);
  const RequestId id = next_id_++;
  live->out.id = id;
  inbox_.push_back(live.get());
  requests_.emplace(id, std::move(live));
  return id;
}

void Engine::cancel(RequestId id) {
  std::lock_guard lock(inbox_mutex_);
  cancels_.push_back(id);
}

void Engine::take_inbox() {
  std::vector<Live*> cancelled;
  {
    // requests_ is looked up under the lock too: add() may be inserting from another thread.
    std::lock_guard lock(inbox_mutex_);
    for (Live* live : inbox_) waiting_.push_back(live);
    inbox_.clear();
    for (RequestId id : cancels_) {
      const auto found = requests_.find(id);
      if (found != requests_.end()) cancelled.push_back(found->second.get());
    }
    cancels_.clear();
  }
  for (Live* live : cancelled) {
    if (live->state == State::kWaiting || live->state == State::kRunning) {
      ++stats_.cancelled;
      finish(*live, StopReason::kCancelled);
    }
  }
}

bool Engine::idle() const {
  std::lock_guard lock(inbox_mutex_);
  return inbox_.empty() && waiting_.empty() && running_.empty();
}

const RequestOutput& Engine::output(RequestId id) const {
  std::lock_guard lock(inbox_mutex_);
  const auto found = requests_.find(id);
  if (found == requests_.end()) fail("no request {}", id);
  return found->second->out;
}

void Engine::forget(RequestId id) {
  std::lock_guard lock(inbox_mutex_);
  const auto found = requests_.find(id);
  if (found == requests_.end()) return;
  Live& live = *found->second;
  if (live.state == State::kWaiting || live.state == State::kRunning)
    fail("request {} has not finished", id);
  if (live.state == State::kParked) {
    parked_.erase(std::find(parked_.begin(), parked_.end(), &live));
    free_slot(live);
  }
  requests_.erase(found);
}

bool Engine::step() {
  take_inbox();
  const std::vector<Planned> plan = schedule();
  if (plan.empty()) return false;
  execute(plan);
  ++stats_.steps;
  return true;
}

void Engine::run_until_idle() {
  while (!idle())
    if (!step() && !idle())
      fail("the engine cannot make progress: a request does not fit the KV memory left");
}

void Engine::execute(const std::vector<Planned>& plan) {
  // One chunk per request: what its cache lacks, or without a cache its whole sequence so far.
  const bool keeps = cache_->keeps_history();
  std::vector<ForwardChunk> chunks;
  for (const Planned& p : plan) {
    Live& live = *p.live;
    ForwardChunk chunk;
    chunk.seq = live.slot;
    chunk.start_pos = keeps ? live.computed : 0;
    chunk.tokens.assign(live.tokens.begin() + chunk.start_pos,
                        live.tokens.begin() + live.computed + p.n);
    const bool completes = live.computed + p.n == static_cast<int>(live.tokens.size());
    const bool wants_logits = live.request.max_new_tokens > 0 || live.request.on_logits;
    chunk.logits =
        completes && wants_logits ? ForwardChunk::Logits::kLast : ForwardChunk::Logits::kNone;
    chunks.push_back(std::move(chunk));
  }
  const std::vector<float>& logits = forward_.run(chunks, *cache_);
  const size_t vocab = static_cast<size_t>(model_.config().vocab_size);
  size_t row = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    Live& live = *plan[i].live;
    live.computed += plan[i].n;
    if (keeps) {
      cache_->commit(live.slot, std::span<const int32_t>(live.tokens.data(),
                                                         static_cast<size_t>(live.computed)));
      drop_unseen(live);
    } else {
      cache_->release(live.slot);  // nothing survives the step
    }
    if (chunks[i].logits == ForwardChunk::Logits::kNone) {
      if (live.computed == static_cast<int>(live.tokens.size()))
        finish(live, StopReason::kMaxTokens);  // a prompt to prefill only
      continue;
    }
    const std::span<const float> last(&logits[row++ * vocab], vocab);
    if (live.request.max_new_tokens > 0) {
      sample(live, last);
    } else {
      live.request.on_logits(last);  // a prompt to prefill only, whose logits are wanted
      finish(live, StopReason::kMaxTokens);
    }
  }
}

void Engine::sample(Live& live, std::span<const float> logits) {
  if (live.request.on_logits) live.request.on_logits(logits);
  int32_t token;
  {
    ScopedOp op(options_.observer, OpKind::kSampling, -1);
    token = live.sampler.sample(logits, live.tokens);
  }
  const Clock::time_point now = Clock::now();
  live.out.token_times.push_back(now);
  ++stats_.generated_tokens;
  TokenEvent event{live.out.id, static_cast<int>(live.out.token_times.size()) - 1, token, {}, now,
                   false};
  std::optional<StopReason> stop;
  if (live.request.stop_at_end_token &&
      std::find(end_ids_.begin(), end_ids_.end(), token) != end_ids_.end()) {
    stop = StopReason::kEndToken;
  } else {
    live.tokens.push_back(token);
    live.out.output.push_back(token);
    if (live.text.push(token))
      stop = StopReason::kStopString;
    else if (static_cast<int>(live.out.output.size()) >= live.request.max_new_tokens)
      stop = StopReason::kMaxTokens;
    else if (static_cast<int>(live.tokens.size()) >= n_ctx_)
      stop = StopReason::kContextFull;
  }
  if (stop) live.text.finish();
  event.text = live.text.take_streamable();
  event.last = stop.has_value();
  live.out.text = live.text.text();
  if (live.request.on_token) live.request.on_token(event);
  if (stop) finish(live, *stop);
}

void Engine::finish(Live& live, StopReason reason) {
  if (live.state == State::kWaiting)
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), &live));
  if (live.state == State::kRunning)
    running_.erase(std::find(running_.begin(), running_.end(), &live));
  if (reason == StopReason::kCancelled) live.text.finish();
  live.out.text = live.text.text();
  live.out.stop = reason;
  live.out.finished = true;
  if (live.request.keep_kv && reason != StopReason::kCancelled && live.slot >= 0 &&
      cache_->keeps_history()) {
    live.state = State::kParked;
    parked_.push_back(&live);
  } else {
    live.state = State::kDone;
    free_slot(live);
  }
  if (live.request.on_finish) live.request.on_finish(live.out);
}

void Engine::free_slot(Live& live) {
  if (live.slot < 0) return;
  cache_->release(live.slot);
  free_slots_.push_back(live.slot);
  live.slot = -1;
  live.computed = 0;
}

std::vector<float> Engine::score(const std::vector<int32_t>& tokens) {
  if (tokens.empty()) fail("nothing to score: the token list is empty");
  if (static_cast<int>(tokens.size()) > n_ctx_)
    fail("{} tokens do not fit the context of {}", tokens.size(), n_ctx_);
  if (free_slots_.empty() && !drop_parked()) fail("no free sequence slot to score in");
  const int slot = free_slots_.back();
  if (!cache_->reserve(slot, static_cast<int>(tokens.size())))
    fail("{} tokens do not fit the KV memory left", tokens.size());
  std::vector<ForwardChunk> chunks(1);
  chunks[0].seq = slot;
  chunks[0].tokens = tokens;
  chunks[0].logits = ForwardChunk::Logits::kAll;
  std::vector<float> logits = forward_.run(chunks, *cache_);
  cache_->release(slot);
  return logits;
}

void Engine::set_observer(Observer* observer) {
  options_.observer = observer;
  forward_.set_observer(observer);
}

EngineStats Engine::stats() const {
  EngineStats s = stats_;
  std::lock_guard lock(inbox_mutex_);
  s.running = static_cast<int>(running_.size());
  s.waiting = static_cast<int>(waiting_.size() + inbox_.size());
  s.parked = static_cast<int>(parked_.size());
  return s;
}

std::vector<std::pair<RequestId, int>> Engine::slots() const {
  std::vector<std::pair<RequestId, int>> out;
  for (const Live* live : running_) out.emplace_back(live->out.id, live->slot);
  for (const Live* live : parked_) out.emplace_back(live->out.id, live->slot);
  return out;
}

}  // namespace kvscope
