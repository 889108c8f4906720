#include "metrics/tracker.h"

#include "core/error.h"

namespace kvscope {

void Tracker::start() {
  *this = Tracker();
  started_ = true;
  reset_peak_memory();
  before_ = read_memory();
  start_ = Clock::now();
}

void Tracker::check_running(const char* what) const {
  if (!started_) fail("Tracker.{}: call start() first", what);
  if (stopped_) fail("Tracker.{}: the tracker was stopped; start() begins a new run", what);
}

void Tracker::log_token(int n, bool is_input) {
  check_running("log_token");
  if (n < 0) fail("Tracker.log_token: n must be at least 0, got {}", n);
  if (is_input) {
    sequence_.prompt_tokens += n;
    return;
  }
  sequence_.token_times.insert(sequence_.token_times.end(), static_cast<size_t>(n), Clock::now());
}

void Tracker::log_first_token() {
  check_running("log_first_token");
  if (!first_) first_ = Clock::now();
}

void Tracker::log_step() {
  check_running("log_step");
  ++steps_;
}

void Tracker::stop() {
  check_running("stop");
  stopped_ = true;
  after_ = read_memory();
}

RequestMetrics Tracker::metrics(int discard_first) const {
  if (!started_) fail("Tracker.metrics: call start() first");
  SequenceResult s = sequence_;
  if (first_ && s.token_times.empty()) s.token_times.push_back(*first_);
  if (first_) s.token_times.front() = *first_;
  return request_metrics(start_, s, discard_first);
}

MemoryReport Tracker::memory() const {
  MemoryReport m;
  m.before = before_;
  m.after = stopped_ ? after_ : read_memory();
  return m;
}

nlohmann::json Tracker::json(int discard_first) const {
  return {{"source", "kvscope.Tracker"},
          {"steps", steps_},
          {"sequences",
           nlohmann::json::array({request_metrics_json(metrics(discard_first), memory())})}};
}

}  // namespace kvscope
