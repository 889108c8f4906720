#pragma once
// AdamW as torch.optim.AdamW computes it (decoupled weight decay, bias-corrected moments), the
// learning-rate schedule (linear warm-up, then cosine down to a floor) and gradient clipping by
// the global norm (torch.nn.utils.clip_grad_norm_).
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "train/parameters.h"

namespace kvscope::train {

struct AdamWOptions {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, weight_decay = 0.1f;
};

class AdamW {
 public:
  AdamW(const std::vector<ParamTensor>& layout, const AdamWOptions& options);

  // One step at learning rate lr; weight decay only on the tensors marked for it.
  void step(ThreadPool& pool, float* params, const float* grads, float lr);

  int64_t steps() const { return steps_; }
  // The moments and the step count, for resuming.
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }
  const std::vector<float>& m() const { return m_; }
  const std::vector<float>& v() const { return v_; }
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  std::vector<ParamTensor> layout_;
  AdamWOptions options_;
  std::vector<float> m_, v_;
  int64_t steps_ = 0;
};

struct Schedule {
  float peak_lr = 3e-3f, min_lr_ratio = 0.1f;
  int64_t warmup_steps = 0, total_steps = 1;
  float lr(int64_t step) const;  // step counts from 0
};

// Scales grads so that their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(ThreadPool& pool, float* grads, int64_t n, double max_norm);

}  // namespace kvscope::train
