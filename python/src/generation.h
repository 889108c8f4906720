#pragma once
// A batch of prompts generated together on an engine of its own, one step at a time: the Python
// side streams the pieces each step made, releases the GIL while a step computes and stops on
// Ctrl-C between steps. Each Generation owns its engine, so one Model serves several at once.
#include <string>
#include <vector>

#include "engine/engine.h"
#include "generate/session.h"
#include "metrics/request_metrics.h"

namespace kvscope::python {

struct GenerationSettings {
  EngineOptions engine;  // n_ctx 0: the longest prompt plus max_new_tokens, as `kvscope run`
  int max_new_tokens = 128;
  SamplingOptions sampling;
  std::vector<std::string> stop_strings;
};

// Text that became showable with a token.
struct Piece {
  int seq = 0;
  int32_t token = 0;
  std::string text;
  double time_s = 0;  // since the generation started
  int tokens = 1;     // tokens generated since the sequence's last piece, `token` included
};

// One sequence's figures: what `run --metrics-json` writes for it and `run --metrics` prints.
struct Metrics {
  RequestMetrics request;
  MemoryReport memory;
};

class Generation {
 public:
  Generation(const Model& model, const std::vector<std::vector<int32_t>>& prompts,
             GenerationSettings settings);

  bool step();                       // one forward pass; false once every sequence has finished
  std::vector<Piece> take_pieces();  // those made since the last call
  void cancel();                     // ends every sequence now, keeping what it generated
  int size() const { return static_cast<int>(ids_.size()); }
  SequenceResult result(int seq) const;  // of a finished sequence
  Metrics metrics(int seq) const;

 private:
  const Model& model_;
  GenerationSettings settings_;
  Engine engine_;
  Clock::time_point start_;
  MemoryUsage before_, after_;
  std::vector<RequestId> ids_;
  std::vector<Piece> pieces_;
  std::vector<int> unshown_tokens_;  // per sequence: tokens since its last piece
};

}  // namespace kvscope::python
