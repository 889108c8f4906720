// The training loop: the loss falls, a seed gives the same weights every time, and Ctrl-C stops
// an epoch at the next step.
#include "train/trainer.h"

#include <gtest/gtest.h>

#include "core/interrupt.h"

namespace kvscope::train {
namespace {

TrainConfig tiny_config() {
  TrainConfig c;
  c.n_layers = 1;
  c.dim = 16;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.ffn_dim = 32;
  c.vocab_size = 16;
  c.context = 8;
  return c;
}

Split counting_data() {  // "0 1 2 3 ...": a pattern a tiny model learns in a few steps
  Split s;
  for (int i = 0; i < 32; ++i)
    s.train.push_back({i % 8, (i + 1) % 8, (i + 2) % 8, (i + 3) % 8, (i + 4) % 8});
  s.held_out = {{3, 4, 5, 6, 7}};
  return s;
}

TrainOptions tiny_options() {
  TrainOptions o;
  o.batch = 4;
  o.seq_len = 8;
  o.epochs = 6;
  o.lr = 1e-2f;
  return o;
}

TEST(Trainer, TheHeldOutLossFallsAndASeedRepeatsItself) {
  ThreadPool pool(2);
  Trainer a(tiny_config(), tiny_options(), pool, counting_data(), 0);
  Trainer b(tiny_config(), tiny_options(), pool, counting_data(), 0);
  const double before = a.held_out_loss();
  for (int e = 0; e < 6; ++e) {
    a.run_epoch({});
    b.run_epoch({});
  }
  EXPECT_LT(a.held_out_loss(), before * 0.5) << before;
  EXPECT_EQ(a.params(), b.params());
  EXPECT_EQ(a.epochs_done(), 6);
}

TEST(Trainer, CtrlCStopsTheEpochAndResumingContinuesIt) {
  ThreadPool pool(1);
  Trainer t(tiny_config(), tiny_options(), pool, counting_data(), 0);
  request_interrupt();
  const EpochReport r = t.run_epoch({});
  clear_interrupt();
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(t.epochs_done(), 0);
  t.run_epoch({});
  const CheckpointState s = t.state({});
  Trainer resumed(tiny_config(), tiny_options(), pool, counting_data(), 0, &s);
  EXPECT_EQ(resumed.epochs_done(), 1);
  EXPECT_EQ(resumed.steps_done(), t.steps_done());
  EXPECT_EQ(resumed.params(), t.params());
}

}  // namespace
}  // namespace kvscope::train
