#pragma once
// --detailed-metrics: the observer that times every op of the forward pass and the sampler,
// totals them per kind and per layer, and keeps the events for a Chrome trace (Perfetto opens it).
#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/observer.h"

namespace kvscope {

class OpProfile final : public Observer {
 public:
  struct Total {
    double seconds = 0;
    int64_t calls = 0;
  };
  struct Event {
    OpKind kind;
    int layer;
    Clock::time_point begin, end;
  };
  static constexpr size_t kMaxEvents = 1 << 20;  // later events are totalled but not kept

  void on_op(OpKind kind, int layer, Clock::time_point begin, Clock::time_point end) override;

  const std::array<Total, kOpKinds>& by_kind() const { return by_kind_; }
  // [layer + 1][kind]: index 0 holds the ops outside the layers.
  const std::vector<std::array<Total, kOpKinds>>& by_layer() const { return by_layer_; }
  const std::vector<Event>& events() const { return events_; }
  double seconds() const;  // all ops together

 private:
  std::array<Total, kOpKinds> by_kind_{};
  std::vector<std::array<Total, kOpKinds>> by_layer_;
  std::vector<Event> events_;
};

// Seed 002's "Layer performance" block: each kind's share of `wall_s` (the rest is "other"),
// then the `top` costliest (layer, kind) pairs with their call counts.
std::string format_op_profile(const OpProfile& profile, double wall_s, int top = 10);
// {"total_s", "by_kind": [{kind, seconds, calls, share}], "by_layer": [{layer, kind, seconds,
// calls}]}
nlohmann::json op_profile_json(const OpProfile& profile, double wall_s);
// The Chrome trace event format: one complete event per op, one instant event per mark.
using TraceMark = std::pair<std::string, Observer::Clock::time_point>;
nlohmann::json chrome_trace_json(const OpProfile& profile, Observer::Clock::time_point origin,
                                 const std::vector<TraceMark>& marks);

}  // namespace kvscope
