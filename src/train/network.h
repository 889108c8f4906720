#pragma once
// The Llama forward pass of training and its backward, side by side: the forward keeps every
// activation the backward needs, for a batch of `batch` sequences of `seq_len` tokens.
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "train/attention.h"
#include "train/ops.h"
#include "train/parameters.h"

namespace kvscope::train {

class Network {
 public:
  Network(const TrainConfig& config, int batch, int seq_len);

  // Mean cross-entropy of predicting targets[i] after tokens[0..i] of each sequence (targets < 0
  // are not counted); both are [batch][seq_len]. With `for_backward`, the logits are turned into
  // their gradient for backward().
  double forward(ThreadPool& pool, const float* params, const int32_t* tokens,
                 const int32_t* targets, bool for_backward);
  // Adds the gradient of the last forward's loss to `grads` (laid out as the parameters).
  void backward(ThreadPool& pool, const float* params, float* grads);

  int64_t counted_targets() const { return counted_; }

 private:
  struct Layer {
    std::vector<float> input, norm1, rstd1, q, k, v, probs, att, mid, norm2, rstd2, gate, up, h;
  };
  void layer_forward(ThreadPool& pool, const LayerTensors<const float>& w, Layer& a, float* out);
  // Turns d_out (the gradient of the layer's output) into the gradient of its input, in place.
  void layer_backward(ThreadPool& pool, const LayerTensors<const float>& w,
                      const LayerTensors<float>& g, Layer& a, float* d_out);

  TrainConfig c_;
  AttentionShape shape_;
  int64_t n_;  // rows: batch × seq_len
  RopeTable rope_;
  std::vector<Layer> layers_;
  std::vector<float> output_, final_norm_, final_rstd_, logits_;
  std::vector<int32_t> tokens_;
  int64_t counted_ = 0;
  // Backward scratch.
  std::vector<float> d_resid_, d_norm_, d_att_, d_q_, d_k_, d_v_, d_h_, d_gate_, d_up_;
};

}  // namespace kvscope::train
