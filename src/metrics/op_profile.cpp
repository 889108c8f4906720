#include "metrics/op_profile.h"

#include <fmt/format.h>

#include <algorithm>

namespace kvscope {
namespace {

double seconds_between(Observer::Clock::time_point a, Observer::Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string op_label(int layer, OpKind kind) {
  return layer < 0 ? std::string(op_kind_name(kind))
                   : fmt::format("layers.{}.{}", layer, op_kind_name(kind));
}

}  // namespace

void OpProfile::on_op(OpKind kind, int layer, Clock::time_point begin, Clock::time_point end) {
  const double s = seconds_between(begin, end);
  const auto k = static_cast<size_t>(kind);
  by_kind_[k].seconds += s;
  by_kind_[k].calls += 1;
  const auto row = static_cast<size_t>(layer + 1);
  if (by_layer_.size() <= row) by_layer_.resize(row + 1);
  by_layer_[row][k].seconds += s;
  by_layer_[row][k].calls += 1;
  if (events_.size() < kMaxEvents) events_.push_back({kind, layer, begin, end});
}

double OpProfile::seconds() const {
  double total = 0;
  for (const Total& t : by_kind_) total += t.seconds;
  return total;
}

std::string format_op_profile(const OpProfile& p, double wall_s, int top) {
  std::string out = "  Layer performance\n";
  for (int k = 0; k < kOpKinds; ++k) {
    const OpProfile::Total& t = p.by_kind()[k];
    if (t.calls == 0) continue;
    out += fmt::format("    {:<14} {:5.1f}% of time ({:.3f} s, {} calls)\n",
                       op_kind_name(static_cast<OpKind>(k)), 100 * t.seconds / wall_s, t.seconds,
                       t.calls);
  }
  const double other = std::max(0.0, wall_s - p.seconds());
  out +=
      fmt::format("    {:<14} {:5.1f}% of time ({:.3f} s)\n", "other", 100 * other / wall_s, other);
  struct Entry {
    int layer;
    OpKind kind;
    OpProfile::Total total;
  };
  std::vector<Entry> entries;
  for (size_t row = 0; row < p.by_layer().size(); ++row)
    for (int k = 0; k < kOpKinds; ++k)
      if (p.by_layer()[row][k].calls > 0)
        entries.push_back(
            {static_cast<int>(row) - 1, static_cast<OpKind>(k), p.by_layer()[row][k]});
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.total.seconds > b.total.seconds; });
  out += fmt::format("  Detailed layer breakdown (top {})\n", top);
  for (size_t i = 0; i < entries.size() && i < static_cast<size_t>(top); ++i)
    out += fmt::format(
        "    {:<26} {:5.1f}% ({:.3f} s, {} calls)\n", op_label(entries[i].layer, entries[i].kind),
        100 * entries[i].total.seconds / wall_s, entries[i].total.seconds, entries[i].total.calls);
  return out;
}

nlohmann::json op_profile_json(const OpProfile& p, double wall_s) {
  nlohmann::json j = {{"total_s", wall_s},
                      {"by_kind", nlohmann::json::array()},
                      {"by_layer", nlohmann::json::array()}};
  for (int k = 0; k < kOpKinds; ++k) {
    const OpProfile::Total& t = p.by_kind()[k];
    j["by_kind"].push_back({{"kind", op_kind_name(static_cast<OpKind>(k))},
                            {"seconds", t.seconds},
                            {"calls", t.calls},
                            {"share", wall_s > 0 ? t.seconds / wall_s : 0.0}});
  }
  const double other = std::max(0.0, wall_s - p.seconds());
  j["by_kind"].push_back({{"kind", "other"},
                          {"seconds", other},
                          {"calls", 0},
                          {"share", wall_s > 0 ? other / wall_s : 0.0}});
  for (size_t row = 0; row < p.by_layer().size(); ++row)
    for (int k = 0; k < kOpKinds; ++k)
      if (const OpProfile::Total& t = p.by_layer()[row][k]; t.calls > 0)
        j["by_layer"].push_back({{"layer", static_cast<int>(row) - 1},
                                 {"kind", op_kind_name(static_cast<OpKind>(k))},
                                 {"seconds", t.seconds},
                                 {"calls", t.calls}});
  return j;
}

nlohmann::json chrome_trace_json(const OpProfile& p, Observer::Clock::time_point origin,
                                 const std::vector<TraceMark>& marks) {
  nlohmann::json events = nlohmann::json::array();
  const auto micros = [&](Observer::Clock::time_point t) {
    return seconds_between(origin, t) * 1e6;
  };
  for (const OpProfile::Event& e : p.events())
    events.push_back({{"name", op_label(e.layer, e.kind)},
                      {"cat", op_kind_name(e.kind)},
                      {"ph", "X"},
                      {"ts", micros(e.begin)},
                      {"dur", micros(e.end) - micros(e.begin)},
                      {"pid", 1},
                      {"tid", 1},
                      {"args", {{"layer", e.layer}}}});
  for (const TraceMark& m : marks)
    events.push_back({{"name", m.first},
                      {"ph", "i"},
                      {"s", "g"},
                      {"ts", micros(m.second)},
                      {"pid", 1},
                      {"tid", 1}});
  return {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
}

}  // namespace kvscope
