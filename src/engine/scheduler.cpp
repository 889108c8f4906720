// The engine's scheduler: which tokens of which requests go into the next forward pass.
// Running requests first (the next token of each decode, then the next chunk of each prompt
// being prefilled, oldest first), then waiting requests first come first served, while the
// step's token budget and the request limit allow. When the KV memory runs out, requests kept
// for continuation are dropped first, then the newest running request is preempted: it gives its
// memory back and is recomputed later, with the same output.
//
// On the paged pool a waiting request is admitted only while the pool can also hold what the
// running ones are expected to grow by: their remaining max_new_tokens times a ratio that starts
// cautious, falls a little every step while nothing is preempted, and goes back up when something
// is (SGLang's new_token_ratio). Admitting on free blocks alone fills the pool with prompts whose
// outputs then do not fit, and every preempted request is computed again.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "engine/engine.h"

namespace kvscope {
namespace {

constexpr double kMinNewTokenRatio = 0.1;
constexpr double kNewTokenRatioDecay = 0.001;  // per step: from 0.7 to 0.1 in 600 steps

}  // namespace

std::vector<Engine::Planned> Engine::schedule() {
  new_token_ratio_ = std::max(kMinNewTokenRatio, new_token_ratio_ - kNewTokenRatioDecay);
  std::vector<Planned> plan;
  const auto budget_left = [&] {
    int used = 0;
    for (const Planned& p : plan) used += p.n;
    return options_.max_batch_tokens - used;
  };
  const auto pending = [](const Live* l) {
    return static_cast<int>(l->tokens.size()) - l->computed;
  };
  std::vector<Live*> order = running_;
  std::stable_partition(order.begin(), order.end(), [&](const Live* l) {
    return l->computed > 0 && pending(l) == 1;
  });  // decodes first
  for (Live* live : order) {
    const int budget = budget_left();
    if (budget <= 0) break;
    if (live->state != State::kRunning) continue;  // preempted by an earlier one of this loop
    const int n = std::min(pending(live), budget);
    if (grow(*live, live->computed + n, plan)) plan.push_back({live, n});
  }
  while (!waiting_.empty() && static_cast<int>(running_.size()) < options_.max_seqs &&
         budget_left() > 0)
    if (!admit(*waiting_.front(), budget_left(), plan)) break;
  return plan;
}

// A contiguous reservation holds the longest length the request may reach from the start: that
// is what prealloc is. The other strategies take memory for the positions fed so far.
int Engine::reservation(const Live& live, int length) const {
  if (cache_->strategy() != CacheStrategy::kPrealloc) return length;
  return std::min(n_ctx_, live.out.prompt_tokens + live.request.max_new_tokens);
}

// The most positions a request reaching `length` holds at once: all of them, except on the paged
// pool under a sliding window in every layer, where a step holds what its first query sees (from
// a block boundary) and its chunk.
int Engine::peak_positions(int length) const {
  if (!is_paged(cache_->strategy())) return length;
  const int seen = length - 1 - model_.config().first_needed(length - 1);
  return std::min(length, seen + options_.max_batch_tokens + options_.block_size - 1);
}

// Gives the paged pool back the blocks behind every layer's window of the request's next query.
void Engine::drop_unseen(const Live& live) {
  cache_->drop_before(live.slot, model_.config().first_needed(live.computed));
}

// Makes room for `length` positions of a running request, preempting newer ones as needed;
// false when the request itself had to be preempted.
bool Engine::grow(Live& live, int length, std::vector<Planned>& plan) {
  while (!cache_->reserve(live.slot, reservation(live, length))) {
    if (drop_parked()) continue;
    Live* victim = running_.back();
    preempt(*victim, plan);
    if (victim == &live) return false;
  }
  return true;
}

void Engine::preempt(Live& victim, std::vector<Planned>& plan) {
  plan.erase(
      std::remove_if(plan.begin(), plan.end(), [&](const Planned& p) { return p.live == &victim; }),
      plan.end());
  running_.erase(std::find(running_.begin(), running_.end(), &victim));
  free_slot(victim);
  victim.state = State::kWaiting;
  waiting_.push_front(&victim);
  ++victim.out.preemptions;
  ++stats_.preemptions;
  new_token_ratio_ = std::max(new_token_ratio_, kInitialNewTokenRatio);  // the estimate was low
}

// Whether the paged pool's free blocks hold what `candidate` and every running request are
// expected to grow by beyond the blocks they hold: the rest of their prompt, and their remaining
// max_new_tokens times the ratio, less what falls behind a sliding window in every layer by then
// (always true for the other strategies, and when nothing runs, so that a request that fits alone
// always starts).
bool Engine::growth_fits(const Live& candidate) const {
  const PoolStats pool = cache_->pool_stats();
  if (pool.blocks_total == 0 || running_.empty()) return true;
  const auto beyond_held = [&](const Live& l) {
    const auto length = static_cast<int64_t>(l.tokens.size());
    const int64_t generated = length - l.out.prompt_tokens;
    const int64_t remaining =
        std::max<int64_t>(0, std::min(l.request.max_new_tokens - generated, n_ctx_ - length));
    const auto expected = length + static_cast<int64_t>(std::ceil(remaining * new_token_ratio_));
    const int first = model_.config().first_needed(static_cast<int>(expected) - 1);
    const int64_t kept = expected - first / options_.block_size * options_.block_size;
    const auto held =
        static_cast<int64_t>(cache_->block_table(l.slot).size()) * options_.block_size;
    return std::max<int64_t>(0, kept - held);
  };
  int64_t positions = beyond_held(candidate);
  for (const Live* l : running_) positions += beyond_held(*l);
  const int64_t free_blocks = pool.blocks_total - pool.blocks_used;  // cached blocks are evictable
  return positions <= free_blocks * options_.block_size;
}

bool Engine::drop_parked() {
  if (parked_.empty()) return false;
  Live* oldest = parked_.front();
  parked_.pop_front();
  free_slot(*oldest);
  oldest->state = State::kDone;
  return true;
}

// Starts the first waiting request with a chunk of at most `budget` tokens; false when there is
// no slot or memory for it now.
bool Engine::admit(Live& live, int budget, std::vector<Planned>& plan) {
  const bool first_time = live.out.preemptions == 0;
  if (live.request.continue_from != 0 && first_time) {
    const auto found = requests_.find(live.request.continue_from);
    Live* parked = found == requests_.end() ? nullptr : found->second.get();
    if (parked != nullptr && parked->state == State::kParked) {
      parked_.erase(std::find(parked_.begin(), parked_.end(), parked));
      parked->state = State::kDone;
      const bool extends =
          parked->computed <= static_cast<int>(live.tokens.size()) &&
          std::equal(parked->tokens.begin(), parked->tokens.begin() + parked->computed,
                     live.tokens.begin());
      if (extends && parked->computed < static_cast<int>(live.tokens.size())) {
        std::swap(live.slot, parked->slot);
        live.computed = parked->computed;
        parked->computed = 0;
      } else {
        free_slot(*parked);
      }
    }
  }
  // A continuation already holds its history's blocks: like a running request it grows from them.
  const bool resumed = live.slot >= 0;
  if (live.slot < 0) {
    if (free_slots_.empty() && !drop_parked()) return false;
    live.slot = free_slots_.back();
    free_slots_.pop_back();
    live.computed = cache_->reuse_prefix(live.slot, live.tokens);
    drop_unseen(live);  // reused blocks its window has passed
  }
  const int n = std::min(static_cast<int>(live.tokens.size()) - live.computed, budget);
  if (!resumed && !growth_fits(live)) {
    free_slot(live);  // waits, holding nothing, for the running ones to finish
    return false;
  }
  while (!cache_->reserve(live.slot, reservation(live, live.computed + n)))
    if (!drop_parked()) {
      free_slot(live);  // waits, holding nothing, for memory to come back
      return false;
    }
  if (first_time) {
    live.out.cached_tokens = live.computed;
    stats_.prompt_tokens += static_cast<int64_t>(live.tokens.size()) - live.computed;
  }
  waiting_.pop_front();
  live.state = State::kRunning;
  running_.push_back(&live);
  plan.push_back({&live, n});
  return true;
}

}  // namespace kvscope
