// A Hugging Face checkpoint folder read as if it were a GGUF file: config.json becomes `llama.*` /
// `gpt2.*` metadata, the safetensors tensors take GGUF's names (GPT-2's Conv1D weights are
// transposed on the way), and tokenizer.json becomes `tokenizer.ggml.*` the way llama.cpp's
// convert_hf_to_gguf.py translates it. Llama's Q and K are NOT permuted: the model runs
// safetensors-loaded Llama with NeoX-order rotary embeddings instead.
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "formats/safetensors.h"

namespace kvscope {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// JSON with errors that name the file and the field.

struct JsonFile {
  std::string path;
  json value;
};

JsonFile load_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot be opened", path.string());
  std::stringstream text;
  text << in.rdbuf();
  JsonFile file{path.string(), {}};
  try {
    file.value = json::parse(text.str());
  } catch (const json::parse_error& e) {
    fail("{}: not valid JSON (byte {})", file.path, e.byte);
  }
  if (!file.value.is_object()) fail("{}: expected a JSON object at the top level", file.path);
  return file;
}

// One JSON object of a file; `prefix` spells the path to it ("rope_scaling.") for messages.
class JsonObject {
 public:
  JsonObject(const std::string& path, const json& object, std::string prefix = "")
      : path_(path), object_(object), prefix_(std::move(prefix)) {}

  const std::string& path() const { return path_; }
  std::string name(const std::string& key) const { return prefix_ + key; }

  // Hugging Face writes null for unset options, so null reads as absent.
  const json* find(const std::string& key) const {
    auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<int64_t> opt_int(const std::string& key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) wrong(key, *v, "an integer");
    return v->get<int64_t>();
  }
  // Sizes and counts: a positive integer that fits GGUF's u32.
  std::optional<int64_t> opt_count(const std::string& key) const {
    auto v = opt_int(key);
    if (v && (*v <= 0 || *v > (int64_t{1} << 31)))
      fail("{}: field '{}' is {}, expected a positive count", path_, name(key), *v);
    return v;
  }
  int64_t count(const std::string& key) const {
    auto v = opt_count(key);
    if (!v) missing(key, "a positive integer");
    return *v;
  }
  std::optional<double> opt_real(const std::string& key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) wrong(key, *v, "a number");
    return v->get<double>();
  }
  std::optional<bool> opt_bool(const std::string& key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) wrong(key, *v, "true or false");
    return v->get<bool>();
  }
  std::optional<std::string> opt_string(const std::string& key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) wrong(key, *v, "a string");
    return v->get<std::string>();
  }
  std::optional<JsonObject> opt_object(const std::string& key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_object()) wrong(key, *v, "an object");
    return JsonObject(path_, *v, name(key) + ".");
  }

  [[noreturn]] void wrong(const std::string& key, const json& v, std::string_view expected) const {
    fail("{}: field '{}' is {}, expected {}", path_, name(key), v.type_name(), expected);
  }
  [[noreturn]] void missing(const std::string& key, std::string_view expected) const {
    fail("{}: field '{}' is missing, expected {}", path_, name(key), expected);
  }

 private:
  const std::string& path_;
  const json& object_;
  std::string prefix_;
};

void set_u32(Metadata& m, const std::string& key, int64_t v) {
  m.set(key, MetaValue::of_int(v, MetaType::kU32));
}
// Through float, so the value reads back exactly as the same key from a GGUF file would.
void set_f32(Metadata& m, const std::string& key, double v) {
  m.set(key, MetaValue::of_real(static_cast<float>(v), MetaType::kF32));
}
void set_string(Metadata& m, const std::string& key, std::string v) {
  m.set(key, MetaValue::of_string(std::move(v)));
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string r;
  for (size_t at = 0;;) {
    const size_t next = s.find(from, at);
    r += s.substr(at, next - at);
    if (next == std::string_view::npos) return r;
    r += to;
    at = next + from.size();
  }
}

// ---------------------------------------------------------------------------------------------
// config.json → hyperparameters under GGUF's keys.

struct ArchConfig {
  std::string arch;  // "llama" or "gpt2"
  int64_t vocab_size = 0;
  bool tied = false;  // lm_head shares the token embedding
};

void translate_rope(const JsonObject& c, Metadata& m) {
  // Transformers 5 gathers rope_theta and the scaling into one rope_parameters object.
  const auto params = c.opt_object("rope_parameters");
  double theta = 10000.0;
  if (auto v = c.opt_real("rope_theta"))
    theta = *v;
  else if (params && params->opt_real("rope_theta"))
    theta = *params->opt_real("rope_theta");
  set_f32(m, "llama.rope.freq_base", theta);

  const auto scaling = c.opt_object("rope_scaling");
  const JsonObject* s = scaling ? &*scaling : params ? &*params : nullptr;
  if (s == nullptr) return;
  const std::string type_key = s->find("rope_type") != nullptr ? "rope_type" : "type";
  const std::string type = s->opt_string(type_key).value_or("default");
  if (type == "linear") {
    const auto factor = s->opt_real("factor");
    if (!factor) s->missing("factor", "the linear scaling factor");
    set_string(m, "llama.rope.scaling.type", "linear");
    set_f32(m, "llama.rope.scaling.factor", *factor);
  } else if (type != "default") {
    fail(
        "{}: field '{}' is '{}', expected 'default' or 'linear' (no other RoPE scaling is "
        "supported)",
        c.path(), s->name(type_key), type);
  }
}

ArchConfig translate_llama(const JsonObject& c, Metadata& m) {
  if (auto act = c.opt_string("hidden_act"); act && *act != "silu")
    fail("{}: field 'hidden_act' is '{}', expected 'silu'", c.path(), *act);
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (c.opt_bool(key).value_or(false))
      fail("{}: field '{}' is true, expected false (Llama biases are not supported)", c.path(),
           key);
  const int64_t hidden = c.count("hidden_size");
  const int64_t heads = c.count("num_attention_heads");
  const int64_t vocab = c.count("vocab_size");
  set_u32(m, "llama.block_count", c.count("num_hidden_layers"));
  set_u32(m, "llama.context_length", c.opt_count("max_position_embeddings").value_or(2048));
  set_u32(m, "llama.embedding_length", hidden);
  set_u32(m, "llama.feed_forward_length", c.count("intermediate_size"));
  set_u32(m, "llama.attention.head_count", heads);
  set_u32(m, "llama.attention.head_count_kv", c.opt_count("num_key_value_heads").value_or(heads));
  set_f32(m, "llama.attention.layer_norm_rms_epsilon", c.opt_real("rms_norm_eps").value_or(1e-6));
  set_u32(m, "llama.vocab_size", vocab);
  const auto head_dim = c.opt_count("head_dim");
  set_u32(m, "llama.rope.dimension_count", head_dim.value_or(hidden / heads));
  if (head_dim) {
    set_u32(m, "llama.attention.key_length", *head_dim);
    set_u32(m, "llama.attention.value_length", *head_dim);
  }
  translate_rope(c, m);
  return {"llama", vocab, c.opt_bool("tie_word_embeddings").value_or(false)};
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

ArchConfig translate_config(const fs::path& folder, const JsonFile& file, Metadata& m) {
  const JsonObject c(file.path, file.value);
  const auto type = c.opt_string("model_type");
  if (!type) c.missing("model_type", "'llama' or 'gpt2'");
  ArchConfig arch;
  if (*type == "llama") {
    arch = translate_llama(c, m);
  } else if (*type == "gpt2") {
    arch = translate_gpt2(c, m);
  } else {
    fail("{}: field 'model_type' is '{}', expected 'llama' or 'gpt2'", file.path, *type);
  }
  set_string(m, "general.architecture", arch.arch);
  set_string(m, "general.name", model_name(folder, c));
  return arch;
}

// ---------------------------------------------------------------------------------------------
// Tensors: Hugging Face names → GGUF names.

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

void rename_tensors(const ArchConfig& arch, ModelFile& out) {
  const ArchTensors& spec = arch.arch == "llama" ? llama_tensors() : gpt2_tensors();
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

// ---------------------------------------------------------------------------------------------
// Weights: one model.safetensors, or shards listed in model.safetensors.index.json.

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

// ---------------------------------------------------------------------------------------------
// tokenizer.json → tokenizer.ggml.* (as convert_hf_to_gguf.py and gguf-py's SpecialVocab do).

// llama.cpp's token types.
enum TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<bool> added, special;              // from added_tokens
  std::unordered_map<std::string, int64_t> ids;  // every token's text → id
};

bool looks_special(const std::string& t) {  // convert_hf_to_gguf.py's does_token_look_special
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
  };
  return t == "<pad>" || t == "<mask>" || wrapped("<|", "|>") || wrapped("<｜", "｜>") ||
         wrapped("<unused", ">");
}

Vocab read_vocab(const JsonFile& tok, const JsonObject& model, int64_t vocab_size) {
  const json* entries = model.find("vocab");
  if (entries == nullptr || !entries->is_object())
    fail("{}: field 'model.vocab' is missing, expected an object of token to id", tok.path);
  std::map<int64_t, std::string> by_id;
  auto add = [&](const std::string& text, const json& id, const std::string& field) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0)
      fail("{}: field '{}' is {}, expected a token id", tok.path, field, id.dump());
    const int64_t i = id.get<int64_t>();
    if (i >= vocab_size)
      fail("{}: token '{}' has id {}, beyond config.json vocab_size {}", tok.path, text, i,
           vocab_size);
    auto [it, fresh] = by_id.emplace(i, text);
    if (!fresh && it->second != text)
      fail("{}: id {} is both '{}' and '{}'", tok.path, i, it->second, text);
  };
  for (const auto& [text, id] : entries->items()) add(text, id, "model.vocab." + text);

  Vocab v;
  std::map<int64_t, bool> added_special;
  if (const json* added = JsonObject(tok.path, tok.value).find("added_tokens")) {
    if (!added->is_array()) fail("{}: field 'added_tokens' is not a list", tok.path);
    for (const json& a : *added) {
      if (!a.is_object() || !a.contains("id") || !a.contains("content") ||
          !a["content"].is_string())
        fail("{}: an entry of 'added_tokens' lacks its id or content", tok.path);
      add(a["content"].get<std::string>(), a["id"], "added_tokens.id");
      added_special[a["id"].get<int64_t>()] = a.value("special", false);
    }
  }
  // Gaps up to the model's vocabulary size are filled as convert_hf_to_gguf.py fills them.
  const auto n = static_cast<size_t>(vocab_size);
  v.tokens.resize(n);
  v.types.assign(n, kNormal);
  v.added.assign(n, false);
  v.special.assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    auto it = by_id.find(static_cast<int64_t>(i));
    if (it == by_id.end()) {
      v.tokens[i] = fmt::format("[PAD{}]", i);
      v.types[i] = kUnused;
      continue;
    }
    v.tokens[i] = it->second;
    v.ids.emplace(it->second, static_cast<int64_t>(i));
    if (auto a = added_special.find(static_cast<int64_t>(i)); a != added_special.end()) {
      v.added[i] = true;
      v.special[i] = a->second;
    }
  }
  return v;
}

// Merges as "left right" strings; tokenizer.json has them so or as [left, right] pairs. A space
// inside a pair's member is written as U+0120, as gguf-py does.
std::vector<std::string> read_merges(const JsonFile& tok, const JsonObject& model) {
  std::vector<std::string> merges;
  const json* list = model.find("merges");
  if (list == nullptr) return merges;
  if (!list->is_array()) fail("{}: field 'model.merges' is not a list", tok.path);
  auto escape = [](const std::string& s) { return replace_all(s, " ", "\xc4\xa0"); };
  for (const json& m : *list) {
    if (m.is_string()) {
      merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.push_back(escape(m[0].get<std::string>()) + " " + escape(m[1].get<std::string>()));
    } else {
      fail("{}: a 'model.merges' entry is {}, expected \"a b\" or [\"a\", \"b\"]", tok.path,
           m.dump());
    }
  }
  return merges;
}

// The pre-tokenizer's components in order, as one line: "Split(<regex>) + ByteLevel".
std::string pre_tokenizer_signature(const json& pre) {
  if (pre.is_null()) return "none";
  std::vector<const json*> parts;
  if (pre.value("type", "") == "Sequence" && pre.contains("pretokenizers") &&
      pre["pretokenizers"].is_array()) {
    for (const json& p : pre["pretokenizers"]) parts.push_back(&p);
  } else {
    parts.push_back(&pre);
  }
  std::string sig;
  for (const json* p : parts) {
    if (!sig.empty()) sig += " + ";
    const std::string type = p->is_object() ? p->value("type", "?") : "?";
    sig += type;
    if (type == "ByteLevel" && p->value("use_regex", true)) sig += "(gpt2 regex)";
    if (type == "Digits" && p->value("individual_digits", false)) sig += "(individual)";
    if (type == "Split" && p->contains("pattern") && (*p)["pattern"].is_object()) {
      const json& pattern = (*p)["pattern"];
      const json& text =
          pattern.contains("Regex") ? pattern["Regex"] : pattern.value("String", json());
      sig += '(';
      sig += text.is_string() ? text.get<std::string>() : std::string("?");
      sig += ')';
    }
  }
  return sig;
}

// The byte-level pre-tokenizers llama.cpp knows, by the signature above.
std::string known_pre_tokenizer(const std::string& signature) {
  static const std::string kGpt2Regex =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
  static const std::string kLlama3Regex =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const std::string kQwen2Regex =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const std::vector<std::pair<std::string, std::string>> kKnown = {
      {"ByteLevel(gpt2 regex)", "gpt2"},
      {"Split(" + kGpt2Regex + ") + ByteLevel", "gpt2"},
      {"Split(" + kLlama3Regex + ") + ByteLevel", "llama-bpe"},
      {"Split(" + kQwen2Regex + ") + ByteLevel", "qwen2"},
      {"Digits(individual) + ByteLevel(gpt2 regex)", "smollm"},
  };
  for (const auto& [sig, pre] : kKnown)
    if (sig == signature) return pre;
  return "";
}

bool mentions(const json& j, std::string_view needle) {
  return j.dump().find(needle) != std::string::npos;
}

// SentencePiece-style BPE (Llama 2) marks word starts with "▁" and falls back to <0xNN> bytes.
bool is_sentencepiece(const json& tok, const JsonObject& model) {
  const json empty;
  const json& normalizer = tok.contains("normalizer") ? tok["normalizer"] : empty;
  const json& pre = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"] : empty;
  return model.opt_bool("byte_fallback").value_or(false) || mentions(pre, "Metaspace") ||
         mentions(normalizer, "\u2581");
}

bool sentencepiece_adds_space(const json& tok) {
  const json empty;
  const json& normalizer = tok.contains("normalizer") ? tok["normalizer"] : empty;
  const json& pre = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"] : empty;
  if (mentions(normalizer, "\"Prepend\"")) return true;
  if (!mentions(pre, "Metaspace")) return false;
  return mentions(pre, "\"prepend_scheme\":\"first\"") ||
         mentions(pre, "\"prepend_scheme\":\"always\"") ||
         mentions(pre, "\"add_prefix_space\":true");
}

bool is_byte_token(const std::string& t) {  // <0xNN>
  return t.size() == 6 && t.starts_with("<0x") && t.back() == '>' &&
         std::isxdigit(static_cast<unsigned char>(t[3])) &&
         std::isxdigit(static_cast<unsigned char>(t[4]));
}

// SentencePiece ranks merges by the score of the piece they make; tokenizer.json keeps only the
// merges' order, so a piece scores minus the rank of the first merge that makes it (pieces no
// merge makes score 0). The same order of merging, not the sentencepiece model's numbers.
std::vector<float> merge_scores(const Vocab& v, const std::vector<std::string>& merges) {
  std::vector<float> scores(v.tokens.size(), 0.0f);
  std::vector<bool> scored(v.tokens.size(), false);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const size_t space = merges[rank].find(' ');
    if (space == std::string::npos) continue;
    const std::string piece = merges[rank].substr(0, space) + merges[rank].substr(space + 1);
    auto it = v.ids.find(piece);
    if (it == v.ids.end() || scored[it->second]) continue;
    scores[it->second] = -static_cast<float>(rank);
    scored[it->second] = true;
  }
  return scores;
}

// The text of a special token entry in tokenizer_config.json: "<s>" or {"content": "<s>"}.
std::optional<std::string> special_content(const json* entry) {
  if (entry == nullptr) return std::nullopt;
  if (entry->is_string()) return entry->get<std::string>();
  if (entry->is_object() && entry->contains("content") && (*entry)["content"].is_string())
    return (*entry)["content"].get<std::string>();
  return std::nullopt;
}

using SpecialTexts = std::map<std::string, std::string>;  // "bos" → "<s>"
using AddFlags = std::map<std::string, bool>;             // "bos" → add it to every encoding

SpecialTexts special_texts(const JsonFile* tok_config) {
  SpecialTexts texts;
  if (tok_config == nullptr) return texts;
  const JsonObject tc(tok_config->path, tok_config->value);
  for (const auto& kind : {"bos", "eos", "unk", "sep", "pad", "cls", "mask"})
    if (auto c = special_content(tc.find(std::string(kind) + "_token"))) texts[kind] = *c;
  if (!texts.count("bos") && texts.count("cls")) texts["bos"] = texts["cls"];
  if (!texts.count("eos") && texts.count("sep")) texts["eos"] = texts["sep"];
  return texts;
}

// A TemplateProcessing post-processor tells whether BOS and EOS wrap a single sequence (and,
// without tokenizer_config.json, which tokens they are).
void read_post_processor(const json& tok, bool has_config, SpecialTexts& texts, AddFlags& add) {
  if (!tok.contains("post_processor") || !tok["post_processor"].is_object()) return;
  const json& post = tok["post_processor"];
  const std::vector<json> processors = post.contains("processors") && post["processors"].is_array()
                                           ? post["processors"].get<std::vector<json>>()
                                           : std::vector<json>{post};
  auto special_id = [](const json& item) -> std::optional<std::string> {
    if (!item.is_object() || !item.contains("SpecialToken")) return std::nullopt;
    const json& st = item["SpecialToken"];
    if (!st.is_object() || !st.contains("id")) return std::nullopt;
    return special_content(&st["id"]);
  };
  for (const json& p : processors) {
    if (!p.is_object() || p.value("type", "") != "TemplateProcessing") continue;
    const json single = p.value("single", json::array());
    if (!single.is_array() || single.size() < 2) continue;
    for (const auto& [kind, item] : {std::pair{"bos", single.front()}, {"eos", single.back()}}) {
      if (auto id = special_id(item)) {
        if (!has_config) texts[kind] = *id;
        add[kind] = texts.count(kind) && *id == texts[kind];
      }
    }
  }
}

// Special token ids and whether to add BOS/EOS: from tokenizer.json's post-processor, then
// tokenizer_config.json, then config.json's *_token_id, as gguf-py's SpecialVocab reads them.
void translate_special_tokens(const JsonFile& tok, const JsonFile* tok_config,
                              const JsonFile& config, const Vocab& v, Metadata& m) {
  static const std::pair<const char*, const char*> kKinds[] = {
      {"bos", "bos_token_id"},       {"eos", "eos_token_id"},     {"unk", "unknown_token_id"},
      {"sep", "seperator_token_id"}, {"pad", "padding_token_id"}, {"mask", "mask_token_id"}};
  SpecialTexts texts = special_texts(tok_config);
  AddFlags add;
  read_post_processor(tok.value, tok_config != nullptr, texts, add);
  if (tok_config != nullptr) {
    const JsonObject tc(tok_config->path, tok_config->value);
    for (const auto& kind : {"bos", "eos"})
      if (const json* a = tc.find(std::string("add_") + kind + "_token"); a && a->is_boolean())
        add[kind] = a->get<bool>();
  }
  const JsonObject c(config.path, config.value);
  for (const auto& [kind, key] : kKinds) {
    std::optional<int64_t> id;
    if (auto it = texts.find(kind); it != texts.end())
      if (auto found = v.ids.find(it->second); found != v.ids.end()) id = found->second;
    if (!id) {
      // config.json may list several (Llama 3.1's eos_token_id); the first stands for them.
      const json* cid = c.find(std::string(kind) + "_token_id");
      if (cid && cid->is_array() && !cid->empty()) cid = &(*cid)[0];
      if (cid && cid->is_number_integer() && cid->get<int64_t>() >= 0 &&
          cid->get<int64_t>() < static_cast<int64_t>(v.tokens.size()))
        id = cid->get<int64_t>();
    }
    if (id) set_u32(m, std::string("tokenizer.ggml.") + key, *id);
  }
  for (const auto& [kind, value] : add)
    m.set("tokenizer.ggml.add_" + kind + "_token", MetaValue::of_bool(value));
}

// tokenizer_config.json's chat_template (a string, or a list of {name, template}), else
// chat_template.jinja, else chat_template.json.
void translate_chat_template(const fs::path& folder, const JsonFile* tok_config, Metadata& m) {
  json source;
  if (tok_config != nullptr && tok_config->value.contains("chat_template"))
    source = tok_config->value["chat_template"];
  if (source.is_null() && fs::exists(folder / "chat_template.jinja")) {
    std::ifstream in(folder / "chat_template.jinja", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    source = text.str();
  }
  if (source.is_null() && fs::exists(folder / "chat_template.json")) {
    const JsonFile f = load_json(folder / "chat_template.json");
    source = f.value.value("chat_template", json());
  }
  if (source.is_string()) {
    set_string(m, "tokenizer.chat_template", source.get<std::string>());
  } else if (source.is_array()) {
    for (const json& t : source) {
      if (!t.is_object() || !t.contains("template") || !t["template"].is_string()) continue;
      const std::string name = t.value("name", "");
      const std::string key = name.empty() || name == "default" ? "tokenizer.chat_template"
                                                                : "tokenizer.chat_template." + name;
      set_string(m, key, t["template"].get<std::string>());
    }
  }
}

MetaValue string_array(const std::vector<std::string>& items) {
  std::vector<MetaValue> values;
  values.reserve(items.size());
  for (const std::string& s : items) values.push_back(MetaValue::of_string(s));
  return MetaValue::of_array(MetaType::kString, std::move(values));
}

template <typename T>
MetaValue number_array(const std::vector<T>& items, MetaType type) {
  std::vector<MetaValue> values;
  values.reserve(items.size());
  for (T x : items) {
    if constexpr (std::is_floating_point_v<T>) {
      values.push_back(MetaValue::of_real(x, type));
    } else {
      values.push_back(MetaValue::of_int(x, type));
    }
  }
  return MetaValue::of_array(type, std::move(values));
}

// Llama 2 style: <0xNN> byte tokens, <unk>, scores from the merge order, "▁" word starts.
void translate_sentencepiece(const json& tok, const JsonObject& model, Vocab& v,
                             const std::vector<std::string>& merges, Metadata& m) {
  const std::string unk = model.opt_string("unk_token").value_or("<unk>");
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] == kUnused) continue;
    v.types[i] = is_byte_token(v.tokens[i]) ? kByte
                 : v.tokens[i] == unk       ? kUnknown
                 : v.special[i]             ? kControl
                 : v.added[i]               ? kUserDefined
                                            : kNormal;
  }
  set_string(m, "tokenizer.ggml.model", "llama");
  m.set("tokenizer.ggml.scores", number_array(merge_scores(v, merges), MetaType::kF32));
  m.set("tokenizer.ggml.add_space_prefix", MetaValue::of_bool(sentencepiece_adds_space(tok)));
  if (auto it = v.ids.find(unk); it != v.ids.end())
    set_u32(m, "tokenizer.ggml.unknown_token_id", it->second);
}

// GPT-2 style: byte-level tokens, a pre-tokenizer llama.cpp knows by name.
void translate_byte_level(const JsonFile& tok, Vocab& v, Metadata& m) {
  const json pre_json = tok.value.value("pre_tokenizer", json());
  const std::string signature = pre_tokenizer_signature(pre_json);
  if (!mentions(pre_json, "ByteLevel"))
    fail("{}: field 'pre_tokenizer' is {}, expected a ByteLevel or Metaspace BPE", tok.path,
         signature);
  const std::string pre = known_pre_tokenizer(signature);
  if (pre.empty())
    fail(
        "{}: field 'pre_tokenizer' is {}, expected one kvscope knows (gpt2, llama-bpe, qwen2, "
        "smollm)",
        tok.path, signature);
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (!v.added[i]) continue;
    if (v.special[i] || looks_special(v.tokens[i])) {
      v.types[i] = kControl;
    } else {
      v.types[i] = kUserDefined;
      // convert_hf_to_gguf.py pre-normalizes user-defined tokens' "▁" to spaces.
      v.tokens[i] = replace_all(v.tokens[i], "\u2581", " ");
    }
  }
  set_string(m, "tokenizer.ggml.model", "gpt2");
  set_string(m, "tokenizer.ggml.pre", pre);
}

void translate_tokenizer(const fs::path& folder, const JsonFile& config, int64_t vocab_size,
                         Metadata& m) {
  const JsonFile tok = load_json(folder / "tokenizer.json");
  const auto model = JsonObject(tok.path, tok.value).opt_object("model");
  if (!model) fail("{}: field 'model' is missing, expected the tokenizer model", tok.path);
  const std::string type = model->opt_string("type").value_or("BPE");
  if (type != "BPE")
    fail("{}: field 'model.type' is '{}', expected 'BPE' (no other tokenizer is supported)",
         tok.path, type);
  std::optional<JsonFile> tok_config;
  if (fs::exists(folder / "tokenizer_config.json"))
    tok_config = load_json(folder / "tokenizer_config.json");

  Vocab v = read_vocab(tok, *model, vocab_size);
  const std::vector<std::string> merges = read_merges(tok, *model);
  if (is_sentencepiece(tok.value, *model)) {
    translate_sentencepiece(tok.value, *model, v, merges, m);
  } else {
    translate_byte_level(tok, v, m);
  }
  m.set("tokenizer.ggml.tokens", string_array(v.tokens));
  m.set("tokenizer.ggml.token_type", number_array(v.types, MetaType::kI32));
  if (!merges.empty()) m.set("tokenizer.ggml.merges", string_array(merges));
  translate_special_tokens(tok, tok_config ? &*tok_config : nullptr, config, v, m);
  translate_chat_template(folder, tok_config ? &*tok_config : nullptr, m);
}

std::unique_ptr<ModelFile> read_folder(const std::string& folder_name) {
  const fs::path folder(folder_name);
  auto out = std::make_unique<ModelFile>();
  out->path = folder_name;
  out->format = FileFormat::kSafetensors;
  out->meta = Metadata(folder_name);
  if (!fs::exists(folder / "config.json"))
    fail("{}: no config.json (not a Hugging Face checkpoint folder)", folder_name);
  const JsonFile config = load_json(folder / "config.json");
  const ArchConfig arch = translate_config(folder, config, out->meta);
  read_weights(folder, *out);
  rename_tensors(arch, *out);
  if (fs::exists(folder / "tokenizer.json"))
    translate_tokenizer(folder, config, arch.vocab_size, out->meta);
  return out;
}

}  // namespace

std::unique_ptr<ModelFile> read_hf_folder(const std::string& folder) {
  try {
    return read_folder(folder);
  } catch (const json::exception& e) {
    // The checks above cover the shapes real files have; anything else still fails cleanly.
    fail("{}: a JSON file holds an unexpected value: {}", folder, e.what());
  } catch (const fs::filesystem_error& e) {
    fail("{}: {}", folder, e.what());
  }
}

}  // namespace kvscope
