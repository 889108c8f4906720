#include "formats/hf_config.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kvscope::hf {
namespace {

namespace fs = std::filesystem;

// Phi-3's longrope as kvscope runs it, within the original context: the short factors (under a
// key of kvscope's own; llama.cpp's converter writes them as the tensor rope_factors_short.weight)
// and the attention factor, as transformers and the converter compute it.
void translate_longrope(const JsonObject& c, const JsonObject& s, const std::string& a,
                        Metadata& m) {
  const json* factors = s.find("short_factor");
  if (factors == nullptr || !factors->is_array() || factors->empty())
    s.missing("short_factor", "a list of positive numbers");
  std::vector<MetaValue> items;
  for (const json& f : *factors) {
    if (!f.is_number() || !(f.get<double>() > 0))
      fail("{}: field '{}' holds {}, expected positive numbers", c.path(), s.name("short_factor"),
           f.dump());
    items.push_back(MetaValue::of_real(f.get<double>(), MetaType::kF32));
  }
  m.set(a + ".rope.scaling.short_factor", MetaValue::of_array(MetaType::kF32, std::move(items)));
  const auto original = c.opt_count("original_max_position_embeddings")
                            .value_or(s.opt_count("original_max_position_embeddings").value_or(0));
  if (original == 0) c.missing("original_max_position_embeddings", "the context longrope extends");
  const double scale =
      static_cast<double>(c.opt_count("max_position_embeddings").value_or(original)) / original;
  const double attn =
      s.opt_real("attention_factor")
          .value_or(scale > 1 ? std::sqrt(1 + std::log(scale) / std::log(original)) : 1.0);
  set_f32(m, a + ".rope.scaling.attn_factor", attn);
}

void translate_rope(const JsonObject& c, const std::string& a, Metadata& m) {
  // Transformers 5 gathers rope_theta and the scaling into one rope_parameters object.
  const auto params = c.opt_object("rope_parameters");
  double theta = 10000.0;
  if (auto v = c.opt_real("rope_theta"))
    theta = *v;
  else if (params && params->opt_real("rope_theta"))
    theta = *params->opt_real("rope_theta");
  set_f32(m, a + ".rope.freq_base", theta);

  const auto scaling = c.opt_object("rope_scaling");
  const JsonObject* s = scaling ? &*scaling : params ? &*params : nullptr;
  if (s == nullptr) return;
  const std::string type_key = s->find("rope_type") != nullptr ? "rope_type" : "type";
  const std::string type = s->opt_string(type_key).value_or("default");
  if (type == "linear") {
    const auto factor = s->opt_real("factor");
    if (!factor) s->missing("factor", "the linear scaling factor");
    set_string(m, a + ".rope.scaling.type", "linear");
    set_f32(m, a + ".rope.scaling.factor", *factor);
  } else if (type == "llama3") {
    const auto factor = s->opt_real("factor");
    if (!factor) s->missing("factor", "the llama3 scaling factor");
    set_string(m, a + ".rope.scaling.type", "llama3");
    set_f32(m, a + ".rope.scaling.factor", *factor);
    set_f32(m, a + ".rope.scaling.low_freq_factor", s->opt_real("low_freq_factor").value_or(1.0));
    set_f32(m, a + ".rope.scaling.high_freq_factor", s->opt_real("high_freq_factor").value_or(4.0));
    set_f32(m, a + ".rope.scaling.original_context_length",
            s->opt_real("original_max_position_embeddings").value_or(8192));
  } else if (type == "longrope" && a == "phi3") {
    translate_longrope(c, *s, a, m);
  } else if (type != "default") {
    fail(
        "{}: field '{}' is '{}', expected 'default', 'linear' or 'llama3' (or 'longrope' for "
        "Phi-3; no other RoPE scaling is supported)",
        c.path(), s->name(type_key), type);
  }
}

// Llama and the models built on its blocks (Mistral, Qwen 2, Qwen 3), under GGUF's keys for the
// architecture llama.cpp's converter gives `type`: Mistral is written as llama.
ArchConfig translate_llama(const JsonObject& c, const std::string& type, Metadata& m) {
  const std::string a = type == "mistral" ? "llama" : type;
  if (auto act = c.opt_string("hidden_act"); act && *act != "silu")
    fail("{}: field 'hidden_act' is '{}', expected 'silu'", c.path(), *act);
  // Qwen 2 always has its q/k/v biases (and no other); elsewhere attention_bias would add them to
  // the output projection too, which kvscope does not run.
  std::vector<const char*> no_bias = {"mlp_bias"};
  if (a != "qwen2") no_bias.push_back("attention_bias");
  for (const char* key : no_bias)
    if (c.opt_bool(key).value_or(false))
      fail("{}: field '{}' is true, expected false (these biases are not supported)", c.path(),
           key);
  if (c.opt_bool("use_sliding_window").value_or(false))
    fail("{}: field 'use_sliding_window' is true, expected false (no sliding window is supported)",
         c.path());
  const int64_t hidden = c.count("hidden_size");
  const int64_t heads = c.count("num_attention_heads");
  const int64_t vocab = c.count("vocab_size");
  set_u32(m, a + ".block_count", c.count("num_hidden_layers"));
  set_u32(m, a + ".context_length", c.opt_count("max_position_embeddings").value_or(2048));
  set_u32(m, a + ".embedding_length", hidden);
  set_u32(m, a + ".feed_forward_length", c.count("intermediate_size"));
  set_u32(m, a + ".attention.head_count", heads);
  set_u32(m, a + ".attention.head_count_kv", c.opt_count("num_key_value_heads").value_or(heads));
  set_f32(m, a + ".attention.layer_norm_rms_epsilon", c.opt_real("rms_norm_eps").value_or(1e-6));
  const auto head_dim = c.opt_count("head_dim");
  if (a == "llama") {
    // What kvscope's Llama files always carried; llama.cpp's converter writes these for Llama.
    set_u32(m, a + ".vocab_size", vocab);
    set_u32(m, a + ".rope.dimension_count", head_dim.value_or(hidden / heads));
  }
  if (head_dim) {
    set_u32(m, a + ".attention.key_length", *head_dim);
    set_u32(m, a + ".attention.value_length", *head_dim);
  }
  // The sliding window (null: none). llama.cpp's converter writes Phi-3's (0 for none) but drops
  // Mistral's; kvscope writes that under the same key, which llama.cpp reads for other models.
  if (type == "mistral" || type == "phi3") {
    const auto window = c.opt_count("sliding_window");
    if (window || type == "phi3") set_u32(m, a + ".attention.sliding_window", window.value_or(0));
  }
  if (type == "phi3") {
    // As the converter writes them: the rotary width of partial_rotary_factor and the original
    // context that long-context scaling (not supported) would stretch.
    const auto params = c.opt_object("rope_parameters");
    double partial = c.opt_real("partial_rotary_factor").value_or(1.0);
    if (params && params->opt_real("partial_rotary_factor"))
      partial = *params->opt_real("partial_rotary_factor");
    if (!(partial > 0 && partial <= 1))
      fail("{}: field 'partial_rotary_factor' is {}, expected a fraction in (0, 1]", c.path(),
           partial);
    set_u32(m, a + ".rope.dimension_count", static_cast<int64_t>(partial * hidden) / heads);
    if (const auto original = c.opt_count("original_max_position_embeddings"))
      set_u32(m, a + ".rope.scaling.original_context_length", *original);
  }
  translate_rope(c, a, m);
  return {a, vocab, c.opt_bool("tie_word_embeddings").value_or(false)};
}

// The RoPE base of one kind of Gemma 3 layer ("full_attention", "sliding_attention"), which
// transformers 5 keeps under rope_parameters and older configs at the top level.
double gemma_rope_base(const JsonObject& c, const std::string& kind, const std::string& old_key,
                       double fallback) {
  if (const auto params = c.opt_object("rope_parameters"))
    if (const auto layer = params->opt_object(kind)) {
      const std::string type = layer->opt_string("rope_type").value_or("default");
      if (type != "default")
        fail("{}: field '{}' is '{}', expected 'default' (no RoPE scaling is supported for Gemma)",
             c.path(), layer->name("rope_type"), type);
      if (const auto theta = layer->opt_real("rope_theta")) return *theta;
    }
  if (c.opt_object("rope_scaling"))
    fail("{}: field 'rope_scaling' is set (no RoPE scaling is supported for Gemma)", c.path());
  return c.opt_real(old_key).value_or(fallback);
}

// Gemma 3's text model under llama.cpp's gemma3 keys. Its layers must alternate with a period
// (every p-th global), written as attention.sliding_window_pattern unless it is llama.cpp's 6;
// query_pre_attn_scalar becomes attention.scale, which llama.cpp derives from the head size.
ArchConfig translate_gemma3(const JsonObject& c, Metadata& m) {
  const std::string a = "gemma3";
  const std::string act = c.opt_string("hidden_activation").value_or("gelu_pytorch_tanh");
  if (act != "gelu_pytorch_tanh")
    fail("{}: field 'hidden_activation' is '{}', expected 'gelu_pytorch_tanh'", c.path(), act);
  if (c.opt_real("attn_logit_softcapping"))
    fail(
        "{}: field 'attn_logit_softcapping' is set, expected null (Gemma 2's attention "
        "soft-capping is not supported)",
        c.path());
  for (const char* key : {"attention_bias", "use_bidirectional_attention"})
    if (c.opt_bool(key).value_or(false))
      fail("{}: field '{}' is true, expected false", c.path(), key);
  const int64_t layers = c.count("num_hidden_layers");
  const int64_t vocab = c.count("vocab_size");
  const int64_t heads = c.opt_count("num_attention_heads").value_or(8);
  const int64_t head_dim = c.opt_count("head_dim").value_or(256);
  set_u32(m, a + ".block_count", layers);
  set_u32(m, a + ".context_length", c.opt_count("max_position_embeddings").value_or(131072));
  set_u32(m, a + ".embedding_length", c.count("hidden_size"));
  set_u32(m, a + ".feed_forward_length", c.count("intermediate_size"));
  set_u32(m, a + ".attention.head_count", heads);
  set_u32(m, a + ".attention.head_count_kv", c.opt_count("num_key_value_heads").value_or(4));
  set_f32(m, a + ".attention.layer_norm_rms_epsilon", c.opt_real("rms_norm_eps").value_or(1e-6));
  set_u32(m, a + ".attention.key_length", head_dim);
  set_u32(m, a + ".attention.value_length", head_dim);
  const double scalar = c.opt_real("query_pre_attn_scalar").value_or(256);
  if (!(scalar > 0))
    fail("{}: field 'query_pre_attn_scalar' is {}, expected a positive number", c.path(), scalar);
  set_f32(m, a + ".attention.scale", 1.0 / std::sqrt(scalar));
  if (const auto cap = c.opt_real("final_logit_softcapping")) {
    if (!(*cap > 0))
      fail("{}: field 'final_logit_softcapping' is {}, expected a positive number or null",
           c.path(), *cap);
    set_f32(m, a + ".final_logit_softcapping", *cap);
  }
  set_f32(m, a + ".rope.freq_base", gemma_rope_base(c, "full_attention", "rope_theta", 1e6));
  set_f32(m, a + ".rope.freq_base_swa",
          gemma_rope_base(c, "sliding_attention", "rope_local_base_freq", 1e4));
  if (const auto window = c.opt_count("sliding_window")) {
    set_u32(m, a + ".attention.sliding_window", *window);
    int64_t pattern = c.opt_count("sliding_window_pattern").value_or(6);
    if (const json* types = c.find("layer_types")) {
      // The period: the first global layer's number (one past the last layer if none is).
      std::vector<bool> global;
      for (const json& t : *types) global.push_back(t == "full_attention");
      const auto first = std::find(global.begin(), global.end(), true);
      pattern = first - global.begin() + 1;
      bool periodic = types->is_array() && static_cast<int64_t>(global.size()) == layers;
      for (size_t i = 0; periodic && i < global.size(); ++i)
        periodic = global[i] == ((static_cast<int64_t>(i) + 1) % pattern == 0) &&
                   ((*types)[i] == "full_attention" || (*types)[i] == "sliding_attention");
      if (!periodic)
        fail(
            "{}: field 'layer_types' is not {} of 'sliding_attention' with every p-th layer "
            "'full_attention' (the only interleaving supported)",
            c.path(), layers);
    }
    if (pattern != 6) set_u32(m, a + ".attention.sliding_window_pattern", pattern);
  }
  return {a, vocab, c.opt_bool("tie_word_embeddings").value_or(true)};
}

ArchConfig translate_gpt2(const JsonObject& c, Metadata& m) {
  const std::string act = c.opt_string("activation_function").value_or("gelu_new");
  if (act != "gelu_new" && act != "gelu_pytorch_tanh" && act != "gelu_fast")
    fail("{}: field 'activation_function' is '{}', expected a tanh GELU ('gelu_new')", c.path(),
         act);
  if (c.opt_bool("scale_attn_by_inverse_layer_idx").value_or(false) ||
      !c.opt_bool("scale_attn_weights").value_or(true))
    fail(
        "{}: fields 'scale_attn_weights' / 'scale_attn_by_inverse_layer_idx' ask for an "
        "attention scaling other than 1/sqrt(head size), which is not supported",
        c.path());
  const int64_t embd = c.count("n_embd");
  const int64_t vocab = c.count("vocab_size");
  set_u32(m, "gpt2.block_count", c.count("n_layer"));
  set_u32(m, "gpt2.context_length",
          c.opt_count("n_positions").value_or(c.opt_count("n_ctx").value_or(1024)));
  set_u32(m, "gpt2.embedding_length", embd);
  set_u32(m, "gpt2.feed_forward_length", c.opt_count("n_inner").value_or(4 * embd));
  set_u32(m, "gpt2.attention.head_count", c.count("n_head"));
  set_f32(m, "gpt2.attention.layer_norm_epsilon", c.opt_real("layer_norm_epsilon").value_or(1e-5));
  set_u32(m, "gpt2.vocab_size", vocab);
  return {"gpt2", vocab, c.opt_bool("tie_word_embeddings").value_or(true)};
}

std::string model_name(const fs::path& folder, const JsonObject& c) {
  std::string name = fs::absolute(folder).lexically_normal().filename().string();
  if (name.empty())
    name = fs::absolute(folder).lexically_normal().parent_path().filename().string();
  if (name.empty()) name = c.opt_string("_name_or_path").value_or("");
  return name;
}

}  // namespace

ArchConfig translate_config(const fs::path& folder, const JsonFile& file, Metadata& m) {
  const JsonObject c(file.path, file.value);
  const auto type = c.opt_string("model_type");
  constexpr const char* kTypes =
      "'llama', 'mistral', 'qwen2', 'qwen3', 'phi3', 'gemma3_text' or 'gpt2'";
  if (!type) c.missing("model_type", kTypes);
  ArchConfig arch;
  if (*type == "llama" || *type == "mistral" || *type == "qwen2" || *type == "qwen3" ||
      *type == "phi3") {
    arch = translate_llama(c, *type, m);
  } else if (*type == "gemma3_text") {
    arch = translate_gemma3(c, m);
  } else if (*type == "gpt2") {
    arch = translate_gpt2(c, m);
  } else {
    fail("{}: field 'model_type' is '{}', expected {}", file.path, *type, kTypes);
  }
  set_string(m, "general.architecture", arch.arch);
  set_string(m, "general.name", model_name(folder, c));
  return arch;
}

void translate_generation_config(const JsonFile& file, Metadata& m) {
  const JsonObject c(file.path, file.value);
  if (const auto k = c.opt_int("top_k"))
    set_u32(m, "general.sampling.top_k", std::max<int64_t>(*k, 0));
  const std::pair<const char*, const char*> reals[] = {
      {"temperature", "general.sampling.temp"},
      {"top_p", "general.sampling.top_p"},
      {"min_p", "general.sampling.min_p"},
      {"repetition_penalty", "general.sampling.penalty_repeat"}};
  for (const auto& [field, key] : reals)
    if (const auto v = c.opt_real(field)) set_f32(m, key, *v);
}

}  // namespace kvscope::hf
