#pragma once
// The trainable model's shape and where each of its parameters lives in one flat f32 buffer
// (gradients and optimizer moments use the same layout). Tensor names and shapes are Hugging
// Face Llama's, so a checkpoint is the buffer written out tensor by tensor.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kvscope::train {

struct TrainConfig {
  int n_layers = 4;
  int dim = 128;
  int n_heads = 4;
  int n_kv_heads = 2;
  int ffn_dim = 512;
  int vocab_size = 1024;
  int context = 64;  // longest sequence trained on, and the checkpoint's context length
  float norm_eps = 1e-5f;
  float rope_base = 10000.0f;
  bool tied_embeddings = true;

  int head_dim() const { return dim / n_heads; }
  int q_dim() const { return n_heads * head_dim(); }
  int kv_dim() const { return n_kv_heads * head_dim(); }
};

// Reads the fields a Hugging Face Llama config.json names (num_hidden_layers, hidden_size,
// num_attention_heads, num_key_value_heads, intermediate_size, vocab_size,
// max_position_embeddings, rms_norm_eps, rope_theta, tie_word_embeddings) over `base`; Error
// naming `source` and the field when one is wrong.
TrainConfig config_from_json(const nlohmann::json& j, const std::string& source,
                             TrainConfig base = {});
// The config.json of a checkpoint (architecture LlamaForCausalLM).
nlohmann::json config_to_json(const TrainConfig& c, int32_t eos_id);
void check_config(const TrainConfig& c, const std::string& source);

struct ParamTensor {
  std::string name;  // Hugging Face's, e.g. model.layers.0.self_attn.q_proj.weight
  std::vector<int64_t> shape;
  int64_t offset = 0, size = 0;
  bool decay = false;  // weight decay applies to matrices, not to norm gains
};
std::vector<ParamTensor> parameter_layout(const TrainConfig& c);
int64_t parameter_count(const std::vector<ParamTensor>& layout);

// Pointers to each tensor of a buffer laid out by parameter_layout.
template <typename T>
struct LayerTensors {
  T *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *gate, *up, *down;
};
template <typename T>
struct ModelTensors {
  T* embed;
  std::vector<LayerTensors<T>> layers;
  T* final_norm;
  T* head;  // the embedding itself when tied
};
ModelTensors<float> bind(const TrainConfig& c, float* base);
ModelTensors<const float> bind(const TrainConfig& c, const float* base);

// GPT-2's initialisation: N(0, 0.02), the projections into the residual stream scaled by
// 1/√(2 · layers), norm gains 1. Deterministic for a seed.
void init_parameters(const TrainConfig& c, uint64_t seed, std::vector<float>& params);

}  // namespace kvscope::train
