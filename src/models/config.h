#pragma once
// A model's shape as plain data. Architecture differences are flags here, not class hierarchies.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/model_file.h"

namespace kvscope {

enum class Architecture { kLlama, kGpt2 };
enum class NormKind { kRmsNorm, kLayerNorm };
enum class Activation { kSwiGlu, kGeluTanh };

// The sampling a model's file recommends (GGUF's general.sampling.*, which llama.cpp's converter
// writes from generation_config.json); what it does not say is unset.
struct SamplingHints {
  std::optional<float> temperature, top_p, min_p, repeat_penalty;
  std::optional<int> top_k;
  bool any() const { return temperature || top_p || min_p || repeat_penalty || top_k; }
};

struct ModelConfig {
  Architecture arch = Architecture::kLlama;
  std::string arch_name;
  std::string name;
  int n_layers = 0;
  int dim = 0;  // width of the residual stream
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int ffn_dim = 0;
  int vocab_size = 0;
  int context_length = 0;
  float norm_eps = 1e-5f;
  NormKind norm = NormKind::kRmsNorm;
  Activation activation = Activation::kSwiGlu;
  // Rotary position encoding (Llama); GPT-2 learns absolute positions instead.
  bool rope = true;
  int rope_dims = 0;
  float rope_base = 10000.0f;
  float rope_scale = 1.0f;  // linear position scaling: positions are divided by this
  // Llama 3's scaling: rotary pair i's frequency is divided by rope_freq_factors[i] (rope_dims / 2
  // of them; GGUF's rope_freqs.weight, or computed from config.json's rope_scaling). Empty: none.
  std::vector<float> rope_freq_factors;
  // Hugging Face Llama checkpoints pair dimension i with i + d/2 ("NeoX" order); GGUF files were
  // permuted at conversion to pair neighbours. Same model, other layout.
  bool rope_neox = false;
  bool tied_embeddings = false;
  SamplingHints sampling;

  int kv_dim() const { return n_kv_heads * head_dim; }
};

// Reads the hyperparameters from metadata; an unknown architecture or a missing or inconsistent
// value is an Error naming the file and key.
ModelConfig read_config(const ModelFile& file);

// Parameters in the model's weight tensors (what transformers' num_parameters() counts).
int64_t count_parameters(const ModelFile& file);

}  // namespace kvscope
