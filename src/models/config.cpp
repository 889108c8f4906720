#include "models/config.h"

#include <fmt/ranges.h>

#include <cmath>
#include <cstring>

#include "core/error.h"

namespace kvscope {
namespace {

int positive(const Metadata& meta, const std::string& key, int64_t value) {
  if (value <= 0 || value > (int64_t{1} << 30))
    fail("{}: metadata '{}' = {} is out of range", meta.source(), key, value);
  return static_cast<int>(value);
}

int read_positive(const Metadata& meta, const std::string& key) {
  return positive(meta, key, meta.get_int(key));
}

std::optional<float> read_hint(const Metadata& meta, const std::string& key, double lo, double hi) {
  if (!meta.has(key)) return std::nullopt;
  const double v = meta.get_real(key);
  if (!(v >= lo && v <= hi))
    fail("{}: metadata '{}' = {} is out of range [{}, {}]", meta.source(), key, v, lo, hi);
  return static_cast<float>(v);
}

// Llama 3.1's RoPE scaling as transformers and llama.cpp's converter compute it: pairs whose
// wavelength is under original_context / high_freq_factor keep their frequency, those over
// original_context / low_freq_factor turn `factor` times slower, and those between blend the two.
std::vector<float> llama3_freq_factors(const Metadata& meta, const std::string& a, double base,
                                       int rope_dims) {
  const std::string k = a + ".rope.scaling.";
  const double factor = meta.get_real(k + "factor"), low = meta.get_real(k + "low_freq_factor", 1),
               high = meta.get_real(k + "high_freq_factor", 4),
               context = meta.get_real(k + "original_context_length", 8192);
  if (!(factor >= 1 && low > 0 && high > low && context > 0))
    fail(
        "{}: llama3 RoPE scaling factor {}, low_freq_factor {}, high_freq_factor {}, "
        "original context {} are out of range",
        meta.source(), factor, low, high, context);
  std::vector<float> factors;
  for (int i = 0; i < rope_dims / 2; ++i) {
    const double wavelength = 2 * M_PI * std::pow(base, 2.0 * i / rope_dims);
    if (wavelength < context / high) {
      factors.push_back(1.0f);
    } else if (wavelength > context / low) {
      factors.push_back(static_cast<float>(factor));
    } else {
      const double smooth = (context / wavelength - low) / (high - low);
      factors.push_back(static_cast<float>(1 / ((1 - smooth) / factor + smooth)));
    }
  }
  return factors;
}

// RoPE frequency factors stored as a tensor of rope_dims / 2 positive F32 values.
std::vector<float> read_factors(const ModelFile& file, const TensorView& t, int rope_dims) {
  if (t.type != DType::kF32 || t.elements() != rope_dims / 2)
    fail("{}: {} is {} {}, expected F32 [{}]", file.path, t.name, dtype_name(t.type),
         shape_string(t), rope_dims / 2);
  std::vector<float> factors(static_cast<size_t>(rope_dims / 2));
  std::memcpy(factors.data(), t.data, factors.size() * 4);
  for (float f : factors)
    if (!(f > 0.0f && std::isfinite(f)))
      fail("{}: {} holds {}, expected positive factors", file.path, t.name, f);
  return factors;
}

// What each architecture kvscope runs is, as data: its family of blocks and what it adds to it.
struct ArchSpec {
  const char* name;
  Architecture family;
  bool gguf_rope_neox;  // llama.cpp's converter leaves q and k unpermuted: NeoX order in GGUF too
  bool qkv_bias;
  bool qk_norm;
  bool fused;  // q, k, v in one attn_qkv tensor and gate, up in one ffn_up
  bool gemma;  // Gemma 3's blocks: GeGLU, post-norms, scaled embeddings, 1 + w norms, local layers
};
constexpr ArchSpec kArchitectures[] = {
    {"llama", Architecture::kLlama, false, false, false, false, false},
    {"qwen2", Architecture::kLlama, true, true, false, false, false},
    {"qwen3", Architecture::kLlama, true, false, true, false, false},
    {"phi3", Architecture::kLlama, true, false, false, true, false},
    {"gemma3", Architecture::kLlama, true, false, true, false, true},
    {"gpt2", Architecture::kGpt2, false, false, false, false, false},
};

// Gemma 3 as llama.cpp runs it: every 6th layer global unless the file says otherwise, the local
// layers' RoPE base apart, queries scaled by 1/sqrt(head size) (by 1/sqrt(width / heads) for the
// 62-layer 27B, as llama.cpp does) unless kvscope's folder reader gives query_pre_attn_scalar.
void read_gemma(const Metadata& meta, const std::string& a, bool folder, ModelConfig& c) {
  c.activation = Activation::kGeGlu;
  c.post_norms = true;
  c.embed_scale = std::sqrt(static_cast<float>(c.dim));
  c.norm_weight_offset = folder ? 1.0f : 0.0f;
  if (c.sliding_window > 0)
    c.sliding_pattern = positive(meta, a + ".attention.sliding_window_pattern",
                                 meta.get_int(a + ".attention.sliding_window_pattern", 6));
  c.rope_base_local = static_cast<float>(meta.get_real(a + ".rope.freq_base_swa", 10000.0));
  const int scale_dim = c.n_layers == 62 ? c.dim / c.n_heads : c.head_dim;
  c.attn_scale = static_cast<float>(
      meta.get_real(a + ".attention.scale", 1.0 / std::sqrt(static_cast<double>(scale_dim))));
  c.logit_softcap = static_cast<float>(meta.get_real(a + ".final_logit_softcapping", 0.0));
  if (!(c.attn_scale > 0 && std::isfinite(c.attn_scale) && c.logit_softcap >= 0 &&
        std::isfinite(c.logit_softcap) && c.rope_base_local > 0))
    fail(
        "{}: metadata '{}.attention.scale' = {}, '{}.final_logit_softcapping' = {} or "
        "'{}.rope.freq_base_swa' = {} is out of range",
        meta.source(), a, c.attn_scale, a, c.logit_softcap, a, c.rope_base_local);
}

SamplingHints read_sampling_hints(const Metadata& meta) {
  SamplingHints h;
  h.temperature = read_hint(meta, "general.sampling.temp", 0, 100);
  h.top_p = read_hint(meta, "general.sampling.top_p", 0, 1);
  h.min_p = read_hint(meta, "general.sampling.min_p", 0, 1);
  h.repeat_penalty = read_hint(meta, "general.sampling.penalty_repeat", 1e-3, 100);
  if (meta.has("general.sampling.top_k")) {
    const int64_t k = meta.get_int("general.sampling.top_k");
    if (k < 0 || k > (int64_t{1} << 30))
      fail("{}: metadata 'general.sampling.top_k' = {} is out of range", meta.source(), k);
    h.top_k = static_cast<int>(k);
  }
  return h;
}

}  // namespace

ModelConfig read_config(const ModelFile& file) {
  const Metadata& meta = file.meta;
  ModelConfig c;
  c.arch_name = meta.get_string("general.architecture");
  c.name = meta.get_string("general.name", "");
  const std::string& a = c.arch_name;
  const ArchSpec* spec = nullptr;
  for (const ArchSpec& s : kArchitectures)
    if (a == s.name) spec = &s;
  if (spec == nullptr) {
    std::vector<std::string> names;
    for (const ArchSpec& s : kArchitectures) names.emplace_back(s.name);
    fail("{}: architecture '{}' is not supported (supported: {})", file.path, a,
         fmt::format("{}", fmt::join(names, ", ")));
  }
  c.arch = spec->family;
  c.qkv_bias = spec->qkv_bias;
  c.qk_norm = spec->qk_norm;
  c.fused_projections = spec->fused;
  c.n_layers = read_positive(meta, a + ".block_count");
  c.dim = read_positive(meta, a + ".embedding_length");
  c.n_heads = read_positive(meta, a + ".attention.head_count");
  c.n_kv_heads = positive(meta, a + ".attention.head_count_kv",
                          meta.get_int(a + ".attention.head_count_kv", c.n_heads));
  c.ffn_dim = read_positive(meta, a + ".feed_forward_length");
  c.context_length = read_positive(meta, a + ".context_length");
  if (c.n_heads % c.n_kv_heads != 0)
    fail("{}: {} K/V heads do not divide the {} query heads", file.path, c.n_kv_heads, c.n_heads);
  // The head size: key_length when the file gives it (Qwen 3's need not be dim / n_heads).
  const std::string key_length = a + ".attention.key_length";
  if (meta.has(key_length)) {
    c.head_dim = read_positive(meta, key_length);
  } else {
    if (c.dim % c.n_heads != 0)
      fail("{}: {} heads do not divide the width {} and '{}' is missing", file.path, c.n_heads,
           c.dim, key_length);
    c.head_dim = c.dim / c.n_heads;
  }
  if (int64_t{c.n_heads} * c.head_dim > (int64_t{1} << 30))
    fail("{}: {} heads of {} are out of range", file.path, c.n_heads, c.head_dim);
  const std::string value_length = a + ".attention.value_length";
  if (meta.has(value_length) && meta.get_int(value_length) != c.head_dim)
    fail("{}: metadata '{}' = {} differs from the key length {} (supported: equal)", file.path,
         value_length, meta.get_int(value_length), c.head_dim);
  if (c.arch == Architecture::kGpt2 && c.q_dim() != c.dim)
    fail("{}: metadata '{}' = {} times {} heads is not the width {} (GPT-2's fused projection)",
         file.path, key_length, c.head_dim, c.n_heads, c.dim);

  const TensorView& embedding = file.require("token_embd.weight");
  c.vocab_size =
      positive(meta, a + ".vocab_size", meta.get_int(a + ".vocab_size", embedding.rows()));
  if (embedding.cols() != c.dim || embedding.rows() != c.vocab_size)
    fail("{}: token_embd.weight is {}, expected [{}, {}]", file.path, shape_string(embedding),
         c.dim, c.vocab_size);
  c.tied_embeddings = file.find("output.weight") == nullptr;
  // llama.cpp writes 0 for "no window" (and its converter writes no window at all for Mistral).
  const std::string window = a + ".attention.sliding_window";
  if (meta.has(window) && meta.get_int(window) != 0) c.sliding_window = read_positive(meta, window);
  c.sampling = read_sampling_hints(meta);

  if (c.arch == Architecture::kLlama) {
    c.norm = NormKind::kRmsNorm;
    c.activation = Activation::kSwiGlu;
    c.norm_eps = static_cast<float>(meta.get_real(a + ".attention.layer_norm_rms_epsilon", 1e-5));
    c.rope = true;
    c.rope_dims = positive(meta, a + ".rope.dimension_count",
                           meta.get_int(a + ".rope.dimension_count", c.head_dim));
    if (c.rope_dims > c.head_dim || c.rope_dims % 2 != 0)
      fail("{}: rope.dimension_count {} does not fit head size {}", file.path, c.rope_dims,
           c.head_dim);
    c.rope_base = static_cast<float>(meta.get_real(a + ".rope.freq_base", 10000.0));
    const std::string scaling = meta.get_string(a + ".rope.scaling.type", "none");
    if (scaling == "linear") {
      c.rope_scale = static_cast<float>(meta.get_real(a + ".rope.scaling.factor", 1.0));
    } else if (scaling == "llama3") {
      c.rope_freq_factors = llama3_freq_factors(meta, a, c.rope_base, c.rope_dims);
    } else if (scaling != "none") {
      fail("{}: rope scaling '{}' is not supported (supported: none, linear, llama3)", file.path,
           scaling);
    }
    // llama.cpp's converter writes Llama 3's scaling as this tensor, with no scaling type.
    if (const TensorView* factors = file.find("rope_freqs.weight"))
      c.rope_freq_factors = read_factors(file, *factors, c.rope_dims);
    // Phi-3's longrope within its original context: the short factors, and the attention factor
    // on cos and sin. Beyond that context transformers and llama.cpp switch to the long factors;
    // kvscope's context stops there instead.
    const TensorView* short_factors = file.find("rope_factors_short.weight");
    const std::string short_key = a + ".rope.scaling.short_factor";  // kvscope's, from a folder
    if (short_factors != nullptr || meta.has(short_key)) {
      if (short_factors != nullptr) {
        c.rope_freq_factors = read_factors(file, *short_factors, c.rope_dims);
      } else {
        for (double f : meta.get_reals(short_key)) c.rope_freq_factors.push_back(f);
        if (c.rope_freq_factors.size() != static_cast<size_t>(c.rope_dims / 2))
          fail("{}: metadata '{}' holds {} factors, expected {}", file.path, short_key,
               c.rope_freq_factors.size(), c.rope_dims / 2);
      }
      for (float f : c.rope_freq_factors)
        if (!(f > 0.0f && std::isfinite(f)))
          fail("{}: the longrope short factors hold {}, expected positive factors", file.path, f);
      c.rope_mscale = static_cast<float>(meta.get_real(a + ".rope.scaling.attn_factor", 1.0));
      if (!(c.rope_mscale > 0 && std::isfinite(c.rope_mscale)))
        fail("{}: metadata '{}.rope.scaling.attn_factor' = {} is out of range", file.path, a,
             c.rope_mscale);
      c.context_length = std::min(c.context_length,
                                  read_positive(meta, a + ".rope.scaling.original_context_length"));
    }
    c.rope_neox = spec->gguf_rope_neox || file.format == FileFormat::kSafetensors;
    if (spec->gemma) read_gemma(meta, a, file.format == FileFormat::kSafetensors, c);
  } else {
    c.norm = NormKind::kLayerNorm;
    c.activation = Activation::kGeluTanh;
    c.norm_eps = static_cast<float>(meta.get_real(a + ".attention.layer_norm_epsilon", 1e-5));
    c.rope = false;
  }
  return c;
}

int64_t count_parameters(const ModelFile& file) {
  int64_t n = 0;
  for (const auto& [name, t] : file.tensors) n += t.elements();
  return n;
}

}  // namespace kvscope
