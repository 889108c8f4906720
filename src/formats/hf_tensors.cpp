#include "formats/hf_tensors.h"

#include <map>
#include <string_view>
#include <vector>

#include "formats/safetensors.h"

namespace kvscope::hf {
namespace {

namespace fs = std::filesystem;

struct TensorRule {
  std::string_view hf;
  std::string_view gguf;
  bool transpose = false;  // GPT-2's Conv1D stores [in, out]; GGUF wants [out, in]
};

struct ArchTensors {
  std::string_view optional_prefix;  // dropped when present ("transformer.")
  std::string_view block_prefix;     // followed by the block number and a dot
  std::vector<TensorRule> global;
  std::vector<TensorRule> block;
  std::vector<std::string_view> ignored_suffixes;  // buffers saved with the weights
};

const ArchTensors& llama_tensors() {
  static const ArchTensors spec{"",
                                "model.layers.",
                                {{"model.embed_tokens.weight", "token_embd.weight"},
                                 {"model.norm.weight", "output_norm.weight"},
                                 {"lm_head.weight", "output.weight"}},
                                {{"input_layernorm.weight", "attn_norm.weight"},
                                 {"self_attn.q_proj.weight", "attn_q.weight"},
                                 {"self_attn.k_proj.weight", "attn_k.weight"},
                                 {"self_attn.v_proj.weight", "attn_v.weight"},
                                 {"self_attn.o_proj.weight", "attn_output.weight"},
                                 {"post_attention_layernorm.weight", "ffn_norm.weight"},
                                 {"mlp.gate_proj.weight", "ffn_gate.weight"},
                                 {"mlp.up_proj.weight", "ffn_up.weight"},
                                 {"mlp.down_proj.weight", "ffn_down.weight"}},
                                {"self_attn.rotary_emb.inv_freq"}};
  return spec;
}

// Qwen 2 is Llama with biases on q, k and v; Qwen 3 is Llama with a norm of each head of q and k.
ArchTensors llama_with(std::vector<TensorRule> extra) {
  ArchTensors spec = llama_tensors();
  spec.block.insert(spec.block.end(), extra.begin(), extra.end());
  return spec;
}

const ArchTensors& qwen2_tensors() {
  static const ArchTensors spec = llama_with({{"self_attn.q_proj.bias", "attn_q.bias"},
                                              {"self_attn.k_proj.bias", "attn_k.bias"},
                                              {"self_attn.v_proj.bias", "attn_v.bias"}});
  return spec;
}

const ArchTensors& qwen3_tensors() {
  static const ArchTensors spec = llama_with({{"self_attn.q_norm.weight", "attn_q_norm.weight"},
                                              {"self_attn.k_norm.weight", "attn_k_norm.weight"}});
  return spec;
}

// Phi-3 is Llama with q, k, v fused into one projection and gate, up into another.
const ArchTensors& phi3_tensors() {
  static const ArchTensors spec = llama_with({{"self_attn.qkv_proj.weight", "attn_qkv.weight"},
                                              {"mlp.gate_up_proj.weight", "ffn_up.weight"}});
  return spec;
}

// Gemma 3 has a norm before and after each of attention and the feed-forward (so its
// post_attention_layernorm is not Llama's pre-feed-forward one), and q/k norms.
const ArchTensors& gemma3_tensors() {
  static const ArchTensors spec = [] {
    ArchTensors t = llama_with({{"self_attn.q_norm.weight", "attn_q_norm.weight"},
                                {"self_attn.k_norm.weight", "attn_k_norm.weight"},
                                {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
                                {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"}});
    for (TensorRule& rule : t.block)
      if (rule.hf == "post_attention_layernorm.weight") rule.gguf = "post_attention_norm.weight";
    return t;
  }();
  return spec;
}

const ArchTensors& gpt2_tensors() {
  static const ArchTensors spec{"transformer.",
                                "h.",
                                {{"wte.weight", "token_embd.weight"},
                                 {"wpe.weight", "position_embd.weight"},
                                 {"ln_f.weight", "output_norm.weight"},
                                 {"ln_f.bias", "output_norm.bias"},
                                 {"lm_head.weight", "output.weight"}},
                                {{"ln_1.weight", "attn_norm.weight"},
                                 {"ln_1.bias", "attn_norm.bias"},
                                 {"attn.c_attn.weight", "attn_qkv.weight", true},
                                 {"attn.c_attn.bias", "attn_qkv.bias"},
                                 {"attn.c_proj.weight", "attn_output.weight", true},
                                 {"attn.c_proj.bias", "attn_output.bias"},
                                 {"ln_2.weight", "ffn_norm.weight"},
                                 {"ln_2.bias", "ffn_norm.bias"},
                                 {"mlp.c_fc.weight", "ffn_up.weight", true},
                                 {"mlp.c_fc.bias", "ffn_up.bias"},
                                 {"mlp.c_proj.weight", "ffn_down.weight", true},
                                 {"mlp.c_proj.bias", "ffn_down.bias"}},
                                {"attn.bias", "attn.masked_bias"}};
  return spec;
}

struct Mapping {
  enum Kind { kMapped, kIgnored, kUnknown } kind = kUnknown;
  std::string gguf;
  bool transpose = false;
};

Mapping map_tensor_name(const ArchTensors& spec, std::string_view name) {
  if (!spec.optional_prefix.empty() && name.starts_with(spec.optional_prefix))
    name.remove_prefix(spec.optional_prefix.size());
  for (const TensorRule& rule : spec.global)
    if (name == rule.hf) return {Mapping::kMapped, std::string(rule.gguf), rule.transpose};
  if (!name.starts_with(spec.block_prefix)) return {};
  name.remove_prefix(spec.block_prefix.size());
  const size_t dot = name.find('.');
  const std::string_view number = name.substr(0, dot);
  if (dot == std::string_view::npos || number.empty() || number.size() > 6 ||
      number.find_first_not_of("0123456789") != std::string_view::npos)
    return {};
  const std::string_view rest = name.substr(dot + 1);
  for (const TensorRule& rule : spec.block)
    if (rest == rule.hf)
      return {Mapping::kMapped, fmt::format("blk.{}.{}", number, rule.gguf), rule.transpose};
  for (std::string_view suffix : spec.ignored_suffixes)
    if (rest == suffix) return {Mapping::kIgnored, "", false};
  return {};
}

template <typename T>
void transpose_elements(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols) {
  const T* s = reinterpret_cast<const T*>(src);
  T* d = reinterpret_cast<T*>(dst);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) d[c * rows + r] = s[r * cols + c];
}

// A copy of the 2-D tensor `t` with its two dimensions swapped, kept alive in out.converted.
TensorView transposed(const TensorView& t, ModelFile& out) {
  if (t.n_dims != 2)
    fail("{}: tensor '{}' is {}, expected a 2-D Conv1D weight", out.path, t.name, shape_string(t));
  std::vector<uint8_t> bytes(t.bytes());
  // GGML shape {cols, rows}: `rows` rows of `cols` contiguous elements.
  const int64_t cols = t.shape[0], rows = t.shape[1];
  if (dtype_bytes(t.type, 1) == 4) {
    transpose_elements<uint32_t>(t.data, bytes.data(), rows, cols);
  } else {
    transpose_elements<uint16_t>(t.data, bytes.data(), rows, cols);
  }
  out.converted.push_back(std::move(bytes));
  TensorView result = t;
  result.shape = {rows, cols, 1, 1};
  result.data = out.converted.back().data();
  return result;
}

void read_shards(const fs::path& folder, const fs::path& index_path, ModelFile& out) {
  const JsonFile index = load_json(index_path);
  const json* map = JsonObject(index.path, index.value).find("weight_map");
  if (map == nullptr || !map->is_object())
    fail("{}: field 'weight_map' is missing, expected an object of tensor name to shard file",
         index.path);
  std::map<std::string, std::string> shard_of;
  for (const auto& [name, file] : map->items()) {
    if (!file.is_string())
      fail("{}: field 'weight_map.{}' is {}, expected a file name", index.path, name,
           file.type_name());
    const std::string shard = file.get<std::string>();
    if (shard.empty() || shard == "." || shard == ".." ||
        shard.find_first_of("/\\") != std::string::npos)
      fail("{}: field 'weight_map.{}' is '{}', expected a file name in the folder", index.path,
           name, shard);
    shard_of[name] = shard;
  }
  std::map<std::string, std::vector<std::string>> names_in;  // shard → the tensors listed in it
  for (const auto& [name, shard] : shard_of) names_in[shard].push_back(name);
  for (const auto& [shard, names] : names_in) {
    std::map<std::string, TensorView> before = std::move(out.tensors);
    out.tensors.clear();
    read_safetensors_file((folder / shard).string(), out);
    for (const std::string& name : names)
      if (out.find(name) == nullptr)
        fail("{}: tensor '{}' is listed in {} but that file does not hold it", index.path, name,
             shard);
    for (auto& [name, view] : before)
      if (!out.tensors.emplace(name, std::move(view)).second)
        fail("{}: tensor '{}' appears in more than one shard", index.path, name);
  }
}

}  // namespace

void rename_tensors(const ArchConfig& arch, ModelFile& out) {
  static const std::map<std::string, const ArchTensors& (*)()> kByArchitecture = {
      {"llama", llama_tensors}, {"qwen2", qwen2_tensors},   {"qwen3", qwen3_tensors},
      {"phi3", phi3_tensors},   {"gemma3", gemma3_tensors}, {"gpt2", gpt2_tensors}};
  const ArchTensors& spec = kByArchitecture.at(arch.arch)();
  std::map<std::string, TensorView> hf = std::move(out.tensors);
  out.tensors.clear();
  for (auto& [hf_name, view] : hf) {
    const Mapping m = map_tensor_name(spec, hf_name);
    if (m.kind == Mapping::kIgnored) continue;
    if (m.kind == Mapping::kUnknown)
      fail("{}: tensor '{}' is not part of a {} checkpoint kvscope knows", out.path, hf_name,
           arch.arch);
    // A tied head is the embedding itself; Hugging Face may still save a copy of it.
    if (m.gguf == "output.weight" && arch.tied) continue;
    TensorView t = m.transpose ? transposed(view, out) : view;
    t.name = m.gguf;
    if (!out.tensors.emplace(m.gguf, std::move(t)).second)
      fail("{}: tensors '{}' and another both map to '{}'", out.path, hf_name, m.gguf);
  }
  if (!arch.tied && out.find("output.weight") == nullptr)
    fail("{}: lm_head.weight is missing and config.json has tie_word_embeddings false", out.path);
}

void read_weights(const fs::path& folder, ModelFile& out) {
  const fs::path single = folder / "model.safetensors";
  const fs::path index = folder / "model.safetensors.index.json";
  if (fs::exists(single)) return read_safetensors_file(single.string(), out);
  if (fs::exists(index)) return read_shards(folder, index, out);
  const bool pytorch = fs::exists(folder / "pytorch_model.bin") ||
                       fs::exists(folder / "pytorch_model.bin.index.json");
  fail("{}: no model.safetensors or model.safetensors.index.json{}", out.path,
       pytorch ? " (only PyTorch .bin weights, which kvscope does not read)" : "");
}

}  // namespace kvscope::hf
