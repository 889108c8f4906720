#include "train/parameters.h"

#include <cmath>
#include <random>

#include "core/error.h"

namespace kvscope::train {
namespace {

using nlohmann::json;

void read_count(const json& j, const char* key, const std::string& source, int& field) {
  if (!j.contains(key)) return;
  const json& v = j[key];
  if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (1 << 24))
    fail("{}: field '{}' is {}, expected a positive integer", source, key, v.dump());
  field = v.get<int>();
}

void read_real(const json& j, const char* key, const std::string& source, float& field) {
  if (!j.contains(key)) return;
  if (!j[key].is_number() || !(j[key].get<double>() > 0))
    fail("{}: field '{}' is {}, expected a positive number", source, key, j[key].dump());
  field = j[key].get<float>();
}

}  // namespace

TrainConfig config_from_json(const json& j, const std::string& source, TrainConfig c) {
  if (!j.is_object()) fail("{}: expected a JSON object of model hyperparameters", source);
  read_count(j, "num_hidden_layers", source, c.n_layers);
  read_count(j, "hidden_size", source, c.dim);
  read_count(j, "num_attention_heads", source, c.n_heads);
  read_count(j, "num_key_value_heads", source, c.n_kv_heads);
  read_count(j, "intermediate_size", source, c.ffn_dim);
  read_count(j, "vocab_size", source, c.vocab_size);
  read_count(j, "max_position_embeddings", source, c.context);
  read_real(j, "rms_norm_eps", source, c.norm_eps);
  read_real(j, "rope_theta", source, c.rope_base);
  if (j.contains("tie_word_embeddings")) {
    if (!j["tie_word_embeddings"].is_boolean())
      fail("{}: field 'tie_word_embeddings' is {}, expected true or false", source,
           j["tie_word_embeddings"].dump());
    c.tied_embeddings = j["tie_word_embeddings"].get<bool>();
  }
  check_config(c, source);
  return c;
}

void check_config(const TrainConfig& c, const std::string& source) {
  if (c.dim % c.n_heads != 0)
    fail("{}: hidden_size {} is not a multiple of num_attention_heads {}", source, c.dim,
         c.n_heads);
  if (c.head_dim() % 2 != 0)
    fail("{}: the head size {} is odd, expected an even size for RoPE", source, c.head_dim());
  if (c.n_heads % c.n_kv_heads != 0)
    fail("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", source,
         c.n_heads, c.n_kv_heads);
}

json config_to_json(const TrainConfig& c, int32_t eos_id) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_act", "silu"},
          {"hidden_size", c.dim},
          {"intermediate_size", c.ffn_dim},
          {"num_hidden_layers", c.n_layers},
          {"num_attention_heads", c.n_heads},
          {"num_key_value_heads", c.n_kv_heads},
          {"head_dim", c.head_dim()},
          {"vocab_size", c.vocab_size},
          {"max_position_embeddings", c.context},
          {"rms_norm_eps", c.norm_eps},
          {"rope_theta", c.rope_base},
          {"tie_word_embeddings", c.tied_embeddings},
          {"attention_bias", false},
          {"mlp_bias", false},
          {"bos_token_id", eos_id},
          {"eos_token_id", eos_id},
          {"torch_dtype", "float32"}};
}

std::vector<ParamTensor> parameter_layout(const TrainConfig& c) {
  std::vector<ParamTensor> out;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    int64_t size = 1;
    for (int64_t d : shape) size *= d;
    const int64_t offset = out.empty() ? 0 : out.back().offset + out.back().size;
    const bool decay = shape.size() == 2;
    out.push_back({std::move(name), std::move(shape), offset, size, decay});
  };
  add("model.embed_tokens.weight", {c.vocab_size, c.dim});
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {c.dim});
    add(p + "self_attn.q_proj.weight", {c.q_dim(), c.dim});
    add(p + "self_attn.k_proj.weight", {c.kv_dim(), c.dim});
    add(p + "self_attn.v_proj.weight", {c.kv_dim(), c.dim});
    add(p + "self_attn.o_proj.weight", {c.dim, c.q_dim()});
    add(p + "post_attention_layernorm.weight", {c.dim});
    add(p + "mlp.gate_proj.weight", {c.ffn_dim, c.dim});
    add(p + "mlp.up_proj.weight", {c.ffn_dim, c.dim});
    add(p + "mlp.down_proj.weight", {c.dim, c.ffn_dim});
  }
  add("model.norm.weight", {c.dim});
  if (!c.tied_embeddings) add("lm_head.weight", {c.vocab_size, c.dim});
  return out;
}

int64_t parameter_count(const std::vector<ParamTensor>& layout) {
  return layout.empty() ? 0 : layout.back().offset + layout.back().size;
}

namespace {

template <typename T>
ModelTensors<T> bind_any(const TrainConfig& c, T* base) {
  const std::vector<ParamTensor> layout = parameter_layout(c);
  size_t i = 0;
  auto next = [&] { return base + layout[i++].offset; };
  ModelTensors<T> m{};
  m.embed = next();
  for (int l = 0; l < c.n_layers; ++l) {
    LayerTensors<T> t{};
    t.attn_norm = next();
    t.wq = next();
    t.wk = next();
    t.wv = next();
    t.wo = next();
    t.ffn_norm = next();
    t.gate = next();
    t.up = next();
    t.down = next();
    m.layers.push_back(t);
  }
  m.final_norm = next();
  m.head = c.tied_embeddings ? m.embed : next();
  return m;
}

}  // namespace

ModelTensors<float> bind(const TrainConfig& c, float* base) { return bind_any(c, base); }
ModelTensors<const float> bind(const TrainConfig& c, const float* base) {
  return bind_any(c, base);
}

void init_parameters(const TrainConfig& c, uint64_t seed, std::vector<float>& params) {
  const std::vector<ParamTensor> layout = parameter_layout(c);
  params.assign(static_cast<size_t>(parameter_count(layout)), 0.0f);
  std::mt19937_64 rng(seed);
  // Box-Muller on the generator's raw bits: the same numbers with every standard library.
  auto gaussian = [&] {
    const double u1 = (static_cast<double>(rng() >> 11) + 1.0) / 9007199254740993.0;
    const double u2 = static_cast<double>(rng() >> 11) / 9007199254740992.0;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  };
  const double residual_std = 0.02 / std::sqrt(2.0 * c.n_layers);
  for (const ParamTensor& t : layout) {
    float* p = params.data() + t.offset;
    if (!t.decay) {
      std::fill(p, p + t.size, 1.0f);
      continue;
    }
    const bool residual = t.name.ends_with("o_proj.weight") || t.name.ends_with("down_proj.weight");
    const double std_dev = residual ? residual_std : 0.02;
    for (int64_t i = 0; i < t.size; ++i) p[i] = static_cast<float>(gaussian() * std_dev);
  }
}

}  // namespace kvscope::train
