#pragma once
// A model's shape as plain data. Architecture differences are flags here, not class hierarchies.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/model_file.h"

namespace kvscope {

// The family of blocks: kLlama is RMSNorm, a gated feed-forward and RoPE with separate q, k, v
// projections (Llama, Mistral, Qwen 2, Qwen 3, Phi-3, Gemma 3; the fields below say what each
// adds); kGpt2 is LayerNorm, GELU, learned positions and one fused q/k/v projection.
enum class Architecture { kLlama, kGpt2 };
enum class NormKind { kRmsNorm, kLayerNorm };
// kSwiGlu: silu(gate) * up; kGeGlu: gelu_tanh(gate) * up (Gemma); kGeluTanh: gelu_tanh(up).
enum class Activation { kSwiGlu, kGeGlu, kGeluTanh };

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
  int head_dim = 0;  // dim / n_heads unless the file says otherwise (Qwen 3: key_length)
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
  // Phi-3's longrope multiplies cos and sin by this attention factor (the short factors above).
  float rope_mscale = 1.0f;
  // Hugging Face Llama checkpoints pair dimension i with i + d/2 ("NeoX" order); GGUF files were
  // permuted at conversion to pair neighbours. Same model, other layout. Qwen's GGUF files are
  // not permuted, so they keep NeoX order in both formats.
  bool rope_neox = false;
  // Biases on the q, k and v projections (Qwen 2; GPT-2's sit on its fused projection).
  bool qkv_bias = false;
  // An RMSNorm over each head of q and of k, after the projection and before RoPE (Qwen 3), with
  // weights of head_dim shared by the heads.
  bool qk_norm = false;
  // Phi-3's checkpoints fuse q, k and v into one attn_qkv and gate and up (in that order) into one
  // ffn_up; the loader splits them into the separate projections (views, nothing copied).
  bool fused_projections = false;
  // Sliding-window attention (Mistral, Phi-3, Gemma 3's local layers): the query at position q
  // sees the key at p iff q - p < sliding_window, as transformers masks it. 0: the whole past.
  int sliding_window = 0;
  // Gemma 3 interleaves: every sliding_pattern-th layer (counting from 1) attends globally, with
  // rope_base, and the others slide, with rope_base_local. 0: every layer slides.
  int sliding_pattern = 0;
  float rope_base_local = 0.0f;  // 0: rope_base
  // Gemma 3: embeddings scaled by sqrt(dim); RMSNorms after attention and after the feed-forward
  // too (post_attention_norm, post_ffw_norm); the attention scale from query_pre_attn_scalar;
  // logits soft-capped as cap * tanh(logits / cap). Hugging Face's Gemma norms scale by 1 + w, and
  // llama.cpp's converter stores 1 + w: norm_weight_offset is 1 for folders, 0 for GGUF.
  float embed_scale = 1.0f;
  bool post_norms = false;
  float attn_scale = 0.0f;     // 0: 1 / sqrt(head_dim)
  float logit_softcap = 0.0f;  // 0: none
  float norm_weight_offset = 0.0f;
  bool tied_embeddings = false;
  SamplingHints sampling;

  int q_dim() const { return n_heads * head_dim; }  // the width of q and of attention's output
  int kv_dim() const { return n_kv_heads * head_dim; }
  bool slides(int layer) const {
    return sliding_window > 0 && (sliding_pattern == 0 || (layer + 1) % sliding_pattern != 0);
  }
  // The oldest position the query at `pos` attends to in `layer`.
  int first_visible(int layer, int pos) const {
    return slides(layer) ? std::max(0, pos + 1 - sliding_window) : 0;
  }
  // The oldest position that the query at `pos` or any later one attends to in some layer: the
  // keys and values before it are never read again (0 while a layer attends globally).
  int first_needed(int pos) const {
    int first = pos;
    for (int layer = 0; layer < n_layers; ++layer)
      first = std::min(first, first_visible(layer, pos));
    return first;
  }
  float layer_rope_base(int layer) const {
    return slides(layer) && rope_base_local > 0 ? rope_base_local : rope_base;
  }
};

// Reads the hyperparameters from metadata; an unknown architecture or a missing or inconsistent
// value is an Error naming the file and key.
ModelConfig read_config(const ModelFile& file);

// Parameters in the model's weight tensors (what transformers' num_parameters() counts).
int64_t count_parameters(const ModelFile& file);

}  // namespace kvscope
