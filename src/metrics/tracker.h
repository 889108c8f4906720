#pragma once
// Metrics for a generation loop that kvscope does not run (a PyTorch model, a nanoGPT script):
// the loop marks its tokens as they come, and the figures follow request_metrics' definitions,
// so they read as those of `kvscope run`.
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "metrics/request_metrics.h"

namespace kvscope {

class Tracker {
 public:
  // The request arrives: TTFT counts from here. Forgets an earlier run.
  void start();
  // `n` prompt tokens (is_input), or `n` output tokens emitted now.
  void log_token(int n, bool is_input);
  // The first output token arrived now: it stands for the first logged output token, or is one
  // when none is logged.
  void log_first_token();
  void log_step();  // one step (forward pass) of the loop ended
  void stop();      // the run ended: memory is read, further marks are refused

  int steps() const { return steps_; }
  // Error before start().
  RequestMetrics metrics(int discard_first = 0) const;
  MemoryReport memory() const;
  // A run's JSON (`run --metrics-json`'s "sequences" with this one), as `kvscope report` draws it.
  nlohmann::json json(int discard_first = 0) const;

 private:
  void check_running(const char* what) const;

  bool started_ = false, stopped_ = false;
  Clock::time_point start_;
  std::optional<Clock::time_point> first_;
  SequenceResult sequence_;  // prompt tokens and output token times
  int steps_ = 0;
  MemoryUsage before_, after_;
};

}  // namespace kvscope
