#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace kvscope::train {

AdamW::AdamW(const std::vector<ParamTensor>& layout, const AdamWOptions& options)
    : layout_(layout),
      options_(options),
      m_(static_cast<size_t>(parameter_count(layout)), 0.0f),
      v_(m_.size(), 0.0f) {}

namespace {

struct AdamWStep {
  float decay, beta1, beta2, eps, step_size, sqrt_correction2;
};

// Elements [begin, end) of one tensor. Plain arguments rather than a lambda's captures, so that
// GCC knows the stores through p, m and v change none of them, and vectorizes the loop.
void adamw_update(const AdamWStep s, float* __restrict p, float* __restrict m, float* __restrict v,
                  const float* __restrict g, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    p[i] *= s.decay;
    m[i] = s.beta1 * m[i] + (1.0f - s.beta1) * g[i];
    v[i] = s.beta2 * v[i] + (1.0f - s.beta2) * g[i] * g[i];
    p[i] -= s.step_size * m[i] / (std::sqrt(v[i]) / s.sqrt_correction2 + s.eps);
  }
}

}  // namespace

void AdamW::step(ThreadPool& pool, float* params, const float* grads, float lr) {
  ++steps_;
  const AdamWOptions& o = options_;
  const double correction1 = 1.0 - std::pow(static_cast<double>(o.beta1), steps_);
  const double correction2 = 1.0 - std::pow(static_cast<double>(o.beta2), steps_);
  AdamWStep s{1.0f,
              o.beta1,
              o.beta2,
              o.eps,
              static_cast<float>(lr / correction1),
              static_cast<float>(std::sqrt(correction2))};
  for (const ParamTensor& t : layout_) {
    s.decay = t.decay ? 1.0f - lr * o.weight_decay : 1.0f;
    float *p = params + t.offset, *m = m_.data() + t.offset, *v = v_.data() + t.offset;
    const float* g = grads + t.offset;
    pool.parallel_for(t.size,
                      [&](int64_t begin, int64_t end) { adamw_update(s, p, m, v, g, begin, end); });
  }
}

float Schedule::lr(int64_t step) const {
  if (step < warmup_steps)
    return peak_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
  const int64_t decay_steps = std::max<int64_t>(1, total_steps - warmup_steps);
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps) / decay_steps);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  const double min_lr = peak_lr * min_lr_ratio;
  return static_cast<float>(min_lr + (peak_lr - min_lr) * cosine);
}

double clip_grad_norm(ThreadPool& pool, float* grads, int64_t n, double max_norm) {
  // Sums of squares over fixed blocks, 8 interleaved partial sums each, then the blocks in
  // order: the same bits whatever the thread count.
  constexpr int64_t kBlock = 4096;
  std::vector<double> block_sums(static_cast<size_t>((n + kBlock - 1) / kBlock));
  pool.parallel_for(static_cast<int64_t>(block_sums.size()), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      double partial[8] = {};
      for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i)
        partial[i % 8] += static_cast<double>(grads[i]) * grads[i];
      block_sums[b] = std::accumulate(partial, partial + 8, 0.0);
    }
  });
  const double norm = std::sqrt(std::accumulate(block_sums.begin(), block_sums.end(), 0.0));
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    pool.parallel_for(n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) grads[i] = static_cast<float>(grads[i] * coef);
    });
  return norm;
}

}  // namespace kvscope::train
