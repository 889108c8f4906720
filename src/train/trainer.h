#pragma once
// The training loop: epochs of shuffled mini-batches, each step a forward, a backward, gradient
// clipping and an AdamW step at the scheduled learning rate; the held-out loss on request.
// Deterministic for a seed and a thread count.
#include <chrono>
#include <functional>

#include "core/thread_pool.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/network.h"
#include "train/optimizer.h"

namespace kvscope::train {

struct TrainOptions {
  int epochs = 40;
  int batch = 8;
  int seq_len = 64;
  float lr = 3e-3f;
  float warmup_fraction = 0.05f;  // of all steps
  float max_grad_norm = 1.0f;
  uint64_t seed = 1;
  AdamWOptions adamw;
};

struct StepLog {
  int64_t step = 0;  // counts from 1
  int epoch = 0;     // counts from 1
  double loss = 0, grad_norm = 0, tokens_per_s = 0;
  float lr = 0;
};

struct EpochReport {
  int epoch = 0;
  int64_t step = 0;
  double train_loss = 0;    // mean over the epoch's batches, weighted by their targets
  double tokens_per_s = 0;  // batch positions (rows × seq_len) trained per second
  bool interrupted = false;
};

class Trainer {
 public:
  // Starts from the seed's initialisation, or from `resume` when given.
  Trainer(const TrainConfig& config, const TrainOptions& options, ThreadPool& pool, Split data,
          int32_t pad, const CheckpointState* resume = nullptr);

  // Trains the next epoch; on_step sees each step and how many of the epoch's are done. Stops
  // early (interrupted) when Ctrl-C was pressed.
  EpochReport run_epoch(const std::function<void(const StepLog&, int done, int total)>& on_step);
  // Mean loss on the held-out examples (NaN when there are none).
  double held_out_loss();

  int epochs_done() const { return epoch_; }
  int64_t steps_done() const { return optimizer_.steps(); }
  int64_t total_steps() const { return schedule_.total_steps; }
  const std::vector<float>& params() const { return params_; }
  // The checkpoint of the current state.
  CheckpointState state(const BpeVocab& vocab) const;

 private:
  double train_step(const Batch& b, StepLog& log);

  TrainConfig config_;
  TrainOptions options_;
  ThreadPool& pool_;
  Split data_;
  int32_t pad_;
  Network network_;
  std::vector<float> params_, grads_;
  AdamW optimizer_;
  Schedule schedule_;
  std::vector<Batch> held_out_batches_;
  int epoch_ = 0;
};

}  // namespace kvscope::train
