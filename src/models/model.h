#pragma once
// A loaded model: configuration, weights (views into the mapped file) and tokenizer. Read-only
// after loading, so one Model can serve many Sessions.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "formats/model_file.h"
#include "models/config.h"
#include "tokenizer/tokenizer.h"

namespace kvscope {

// Norm weights and biases are small: they are kept as f32 copies whatever their storage type.
using Vector = std::vector<float>;

struct LayerWeights {
  Vector attn_norm, attn_norm_bias;
  const TensorView* wq = nullptr;  // Llama: separate projections (Phi-3: views of its fused ones)
  const TensorView* wk = nullptr;
  const TensorView* wv = nullptr;
  Vector q_bias, k_bias, v_bias;     // Qwen 2; empty where the model has none
  Vector q_norm, k_norm;             // Qwen 3: per-head RMSNorm weights [head_dim]; empty: none
  const TensorView* wqkv = nullptr;  // GPT-2: one fused projection, Q then K then V
  Vector qkv_bias;
  const TensorView* wo = nullptr;
  Vector wo_bias;
  Vector ffn_norm, ffn_norm_bias;
  Vector post_attn_norm, post_ffn_norm;  // Gemma 3: on each block's output; empty: none
  const TensorView* w_gate = nullptr;    // Llama only
  const TensorView* w_up = nullptr;
  Vector up_bias;
  const TensorView* w_down = nullptr;
  Vector down_bias;
};

class Model {
 public:
  // Opens a .gguf file or a Hugging Face folder; Error on anything unsupported or inconsistent.
  static std::unique_ptr<Model> load(const std::string& path);

  const ModelConfig& config() const { return config_; }
  const ModelFile& file() const { return *file_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }

  const TensorView& token_embedding() const { return *token_embedding_; }
  const TensorView* position_embedding() const { return position_embedding_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
  const Vector& output_norm() const { return output_norm_; }
  const Vector& output_norm_bias() const { return output_norm_bias_; }
  const TensorView& output() const { return *output_; }  // the token embedding when tied

  // Bytes of weights read to produce one token (every matrix once; the embedding row is noise).
  size_t weight_bytes_per_token() const;
  // Weights multiplied per token (each is one multiply-add, two FLOPs).
  int64_t matmul_weights() const;
  // Bytes of weights held in memory besides the mapped file: matrices repacked for the fast path.
  size_t packed_bytes() const;

 private:
  std::vector<const TensorView*> matrices() const;  // every matrix a token goes through
  // Repacks every matrix the fast path's kernels read packed, pointing the layers at the copies.
  void pack_matrices();

  std::unique_ptr<ModelFile> file_;
  ModelConfig config_;
  std::unique_ptr<Tokenizer> tokenizer_;
  const TensorView* token_embedding_ = nullptr;
  const TensorView* position_embedding_ = nullptr;
  const TensorView* output_ = nullptr;
  Vector output_norm_, output_norm_bias_;
  std::vector<LayerWeights> layers_;
  std::deque<TensorView> parts_;         // views of the projections fused tensors hold (Phi-3)
  std::deque<TensorView> packed_views_;  // views with their packed copies (stable addresses)
  std::vector<std::vector<uint8_t>> packed_;
};

}  // namespace kvscope
