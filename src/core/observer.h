#pragma once
// What the engine tells a watcher as it runs: each op's begin and end (with its layer), and
// each query row after RoPE (for the KV-cache visualisation). Metrics cost nothing when off:
// every hook sits behind a null check, and no clock is read without an observer.
#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

namespace kvscope {

enum class OpKind { kEmbedding, kNorm, kAttention, kFeedForward, kOutputHead, kSampling };
inline constexpr int kOpKinds = 6;
std::string_view op_kind_name(OpKind kind);

class Observer {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Observer() = default;
  // layer is -1 for ops outside the layers (embedding, final norm, output head, sampling).
  virtual void on_op(OpKind kind, int layer, Clock::time_point begin, Clock::time_point end) = 0;
  // One token's query heads after RoPE, [n_heads][head_dim], before attention reads the cache.
  virtual void on_query(int /*layer*/, int /*seq*/, int /*pos*/, std::span<const float> /*q*/) {}
};

// Times one op for an observer; does nothing when the observer is null.
class ScopedOp {
 public:
  ScopedOp(Observer* observer, OpKind kind, int layer)
      : observer_(observer), kind_(kind), layer_(layer) {
    if (observer_ != nullptr) begin_ = Observer::Clock::now();
  }
  ~ScopedOp() {
    if (observer_ != nullptr) observer_->on_op(kind_, layer_, begin_, Observer::Clock::now());
  }
  ScopedOp(const ScopedOp&) = delete;
  ScopedOp& operator=(const ScopedOp&) = delete;

 private:
  Observer* observer_;
  OpKind kind_;
  int layer_;
  Observer::Clock::time_point begin_;
};

}  // namespace kvscope
