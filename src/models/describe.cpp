#include "models/describe.h"

#include <map>

namespace kvscope {
namespace {

struct TypeTotals {
  int64_t tensors = 0;
  int64_t elements = 0;
  uint64_t bytes = 0;
};
}  // namespace

nlohmann::json describe_model(const Model& model) {
  const ModelConfig& c = model.config();
  const ModelFile& file = model.file();
  std::map<std::string, TypeTotals> by_type;
  for (const auto& [name, t] : file.tensors) {
    TypeTotals& totals = by_type[std::string(dtype_name(t.type))];
    ++totals.tensors;
    totals.elements += t.elements();
    totals.bytes += t.bytes();
  }
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [name, totals] : by_type)
    types[name] = {
        {"tensors", totals.tensors}, {"elements", totals.elements}, {"bytes", totals.bytes}};
  // K and V rows of every layer for one token, per storage type (q8_0: 34 bytes per 32 values).
  const double values_per_token = 2.0 * c.n_layers * c.kv_dim();
  return {
      {"path", file.path},
      {"format", file.format == FileFormat::kGguf ? "gguf" : "safetensors"},
      {"file_bytes", file.file_bytes},
      {"name", c.name},
      {"architecture", c.arch_name},
      {"parameters", count_parameters(file)},
      {"hyperparameters",
       {{"layers", c.n_layers},
        {"width", c.dim},
        {"heads", c.n_heads},
        {"kv_heads", c.n_kv_heads},
        {"head_dim", c.head_dim},
        {"qkv_bias", c.qkv_bias},
        {"qk_norm", c.qk_norm},
        {"sliding_window", c.sliding_window},
        {"ffn_width", c.ffn_dim},
        {"vocab_size", c.vocab_size},
        {"context_length", c.context_length},
        {"norm_eps", c.norm_eps},
        {"rope_base", c.rope ? nlohmann::json(c.rope_base) : nlohmann::json()},
        {"rope_dims", c.rope ? nlohmann::json(c.rope_dims) : nlohmann::json()},
        {"tied_embeddings", c.tied_embeddings}}},
      {"tensor_types", types},
      {"kv_bytes_per_token",
       {{"f32", values_per_token * 4},
        {"f16", values_per_token * 2},
        {"q8_0", values_per_token * 34 / 32}}},
      {"tokenizer",
       {{"kind", model.tokenizer().kind()}, {"vocab_size", model.tokenizer().vocab_size()}}},
  };
}

}  // namespace kvscope
