#pragma once
// Picks the next token from logits. The filters apply in Hugging Face's order: repetition
// penalty, temperature, top-k, top-p, min-p; a temperature of 0 means greedy (ties go to the
// lowest id). The random draw for a request's n-th token depends only on its seed and n, so a
// request samples the same tokens whatever else runs beside it, and after a preemption.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "models/config.h"

namespace kvscope {

struct SamplingOptions {
  float temperature = 0.0f;
  int top_k = 0;                // 0: off
  float top_p = 1.0f;           // 1: off
  float min_p = 0.0f;           // 0: off
  float repeat_penalty = 1.0f;  // 1: off; applies to every token already in the sequence
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  // `history` is the sequence so far (prompt and output), for the repetition penalty.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  size_t top_p_keep(const std::vector<double>& probs, size_t n) const;

  SamplingOptions options_;
  uint64_t draws_ = 0;  // tokens sampled so far: the index of the next draw
  std::vector<Candidate> candidates_;
};

int32_t argmax(std::span<const float> logits);

// What chat and demo sample with: llama.cpp's defaults (temperature 0.8, top-k 40, top-p 0.95,
// min-p 0.05, no repetition penalty), each replaced by the value the model's file recommends.
SamplingOptions recommended_sampling(const SamplingHints& hints);
// "temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, seed 0" (a repeat penalty named when not
// 1); "greedy" at temperature 0.
std::string describe(const SamplingOptions& options);

}  // namespace kvscope
