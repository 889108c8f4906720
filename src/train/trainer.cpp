#include "train/trainer.h"

#include <cmath>

#include "core/error.h"
#include "core/interrupt.h"

namespace kvscope::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

Trainer::Trainer(const TrainConfig& config, const TrainOptions& options, ThreadPool& pool,
                 Split data, int32_t pad, const CheckpointState* resume)
    : config_(config),
      options_(options),
      pool_(pool),
      data_(std::move(data)),
      pad_(pad),
      network_(config, options.batch, options.seq_len),
      optimizer_(parameter_layout(config), options.adamw) {
  if (data_.train.empty()) fail("the training data has no examples");
  if (options.seq_len > config.context)
    fail("--ctx {} is longer than the model's context {}", options.seq_len, config.context);
  if (resume != nullptr) {
    params_ = resume->params;
    optimizer_.m() = resume->adam_m;
    optimizer_.v() = resume->adam_v;
    optimizer_.set_steps(resume->step);
    epoch_ = resume->epoch;
  } else {
    init_parameters(config, options.seed, params_);
  }
  grads_.assign(params_.size(), 0.0f);
  // Epochs pack alike: the first one's batch count stands for every epoch's.
  const size_t per_epoch =
      make_batches(data_.train, epoch_order(data_.train.size(), options.seed, 0), options.batch,
                   options.seq_len, pad)
          .size();
  schedule_.peak_lr = options.lr;
  schedule_.total_steps = std::max<int64_t>(1, static_cast<int64_t>(per_epoch) * options.epochs);
  schedule_.warmup_steps = static_cast<int64_t>(options.warmup_fraction * schedule_.total_steps);
  std::vector<size_t> order(data_.held_out.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  held_out_batches_ = make_batches(data_.held_out, order, options.batch, options.seq_len, pad);
}

double Trainer::train_step(const Batch& b, StepLog& log) {
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  const double loss =
      network_.forward(pool_, params_.data(), b.tokens.data(), b.targets.data(), true);
  network_.backward(pool_, params_.data(), grads_.data());
  log.grad_norm = clip_grad_norm(pool_, grads_.data(), static_cast<int64_t>(grads_.size()),
                                 options_.max_grad_norm);
  log.lr = schedule_.lr(optimizer_.steps());
  optimizer_.step(pool_, params_.data(), grads_.data(), log.lr);
  log.step = optimizer_.steps();
  log.loss = loss;
  return loss;
}

EpochReport Trainer::run_epoch(
    const std::function<void(const StepLog&, int done, int total)>& on_step) {
  const std::vector<Batch> batches =
      make_batches(data_.train, epoch_order(data_.train.size(), options_.seed, epoch_),
                   options_.batch, options_.seq_len, pad_);
  EpochReport report;
  report.epoch = epoch_ + 1;
  double weighted_loss = 0, seconds = 0;
  int64_t counted = 0, positions = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    if (interrupt_requested()) {
      report.interrupted = true;
      break;
    }
    const auto start = Clock::now();
    StepLog log;
    log.epoch = report.epoch;
    const double loss = train_step(batches[i], log);
    const double step_seconds = seconds_since(start);
    const int64_t step_positions = static_cast<int64_t>(options_.batch) * options_.seq_len;
    log.tokens_per_s = static_cast<double>(step_positions) / step_seconds;
    seconds += step_seconds;
    positions += step_positions;
    weighted_loss += loss * static_cast<double>(network_.counted_targets());
    counted += network_.counted_targets();
    if (on_step) on_step(log, static_cast<int>(i + 1), static_cast<int>(batches.size()));
  }
  if (!report.interrupted) ++epoch_;
  report.step = optimizer_.steps();
  report.train_loss = counted > 0 ? weighted_loss / static_cast<double>(counted) : NAN;
  report.tokens_per_s = seconds > 0 ? static_cast<double>(positions) / seconds : 0;
  return report;
}

double Trainer::held_out_loss() {
  double weighted = 0;
  int64_t counted = 0;
  for (const Batch& b : held_out_batches_) {
    const double loss =
        network_.forward(pool_, params_.data(), b.tokens.data(), b.targets.data(), false);
    weighted += loss * static_cast<double>(network_.counted_targets());
    counted += network_.counted_targets();
  }
  return counted > 0 ? weighted / static_cast<double>(counted) : NAN;
}

CheckpointState Trainer::state(const BpeVocab& vocab) const {
  CheckpointState s;
  s.config = config_;
  s.vocab = vocab;
  s.params = params_;
  s.adam_m = optimizer_.m();
  s.adam_v = optimizer_.v();
  s.step = optimizer_.steps();
  s.epoch = epoch_;
  return s;
}

}  // namespace kvscope::train
