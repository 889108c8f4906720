// The trainer's loss, every parameter's gradient and three AdamW steps against torch
// (tests/fixtures/train/grads.safetensors, made by scripts/make_train_goldens.py).
#include <gtest/gtest.h>

#include <cmath>

#include "train/network.h"
#include "train/optimizer.h"
#include "train_goldens.h"

namespace kvscope::train {
namespace {

using testing::golden_config;
using testing::kGoldenBatch;
using testing::kGoldenSeq;
using testing::relative_error;
using testing::train_goldens;

std::vector<float> gradients(int threads, double* loss) {
  const auto& g = train_goldens();
  ThreadPool pool(threads);
  Network net(golden_config(), kGoldenBatch, kGoldenSeq);
  const std::vector<float> params = g.params();
  const std::vector<int32_t> tokens = g.ids("tokens"), targets = g.ids("targets");
  std::vector<float> grads(params.size(), 0.0f);
  *loss = net.forward(pool, params.data(), tokens.data(), targets.data(), true);
  net.backward(pool, params.data(), grads.data());
  return grads;
}

TEST(TrainGradients, LossMatchesTorch) {
  double loss = 0;
  gradients(2, &loss);
  EXPECT_NEAR(loss, train_goldens().read("loss")[0], 1e-5);
}

TEST(TrainGradients, EveryParameterMatchesTorchAutograd) {
  double loss = 0;
  const std::vector<float> grads = gradients(2, &loss);
  const std::vector<float> expected = train_goldens().params("grad.");
  for (const ParamTensor& t : parameter_layout(golden_config()))
    EXPECT_LE(relative_error(grads.data() + t.offset, expected.data() + t.offset, t.size), 1e-4)
        << t.name;
}

TEST(TrainGradients, SameBitsWithOneOrTwoThreads) {
  double loss1 = 0, loss2 = 0;
  EXPECT_EQ(gradients(1, &loss1), gradients(2, &loss2));
  EXPECT_EQ(loss1, loss2);
}

TEST(TrainOptimizer, ThreeAdamWStepsMatchTorch) {
  const auto& g = train_goldens();
  const TrainConfig c = golden_config();
  ThreadPool pool(2);
  Network net(c, kGoldenBatch, kGoldenSeq);
  std::vector<float> params = g.params();
  const std::vector<int32_t> tokens = g.ids("tokens"), targets = g.ids("targets");
  AdamW adamw(parameter_layout(c),
              {.beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f});
  for (float lr : {1e-2f, 5e-3f, 2e-3f}) {
    std::vector<float> grads(params.size(), 0.0f);
    net.forward(pool, params.data(), tokens.data(), targets.data(), true);
    net.backward(pool, params.data(), grads.data());
    clip_grad_norm(pool, grads.data(), static_cast<int64_t>(grads.size()), 1.0);
    adamw.step(pool, params.data(), grads.data(), lr);
  }
  const std::vector<float> expected = g.params("adamw.");
  for (const ParamTensor& t : parameter_layout(c))
    EXPECT_LE(relative_error(params.data() + t.offset, expected.data() + t.offset, t.size), 1e-4)
        << t.name;
}

TEST(TrainOptimizer, ScheduleWarmsUpThenFollowsTheCosine) {
  Schedule s{.peak_lr = 1.0f, .min_lr_ratio = 0.1f, .warmup_steps = 4, .total_steps = 104};
  EXPECT_FLOAT_EQ(s.lr(0), 0.25f);
  EXPECT_FLOAT_EQ(s.lr(3), 1.0f);
  EXPECT_FLOAT_EQ(s.lr(4), 1.0f);
  EXPECT_NEAR(s.lr(54), 0.55f, 1e-6);
  EXPECT_NEAR(s.lr(104), 0.1f, 1e-6);
}

TEST(TrainOptimizer, ClippingScalesToTheMaximumNorm) {
  ThreadPool pool(2);
  std::vector<float> g = {3.0f, 4.0f};
  EXPECT_DOUBLE_EQ(clip_grad_norm(pool, g.data(), 2, 1.0), 5.0);
  EXPECT_NEAR(std::hypot(g[0], g[1]), 1.0, 1e-6);
  EXPECT_NEAR(clip_grad_norm(pool, g.data(), 2, 10.0), 1.0, 1e-6);  // under the maximum: unchanged
  EXPECT_NEAR(std::hypot(g[0], g[1]), 1.0, 1e-6);
}

}  // namespace
}  // namespace kvscope::train
