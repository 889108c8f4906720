// kvscope inspect: what a model file holds and what its KV cache costs.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "common.h"
#include "kvcache/kv_cache.h"

namespace kvscope::cli {
namespace {

struct TypeTotals {
  int64_t tensors = 0;
  int64_t elements = 0;
  uint64_t bytes = 0;
};

nlohmann::json describe(const Model& model) {
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

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (bytes >= 1024 && u < 3) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.2f} {}", bytes, units[u]);
}

void print_text(const nlohmann::json& j) {
  const auto& h = j["hyperparameters"];
  fmt::print("model         {} ({})\n", j["path"].get<std::string>(),
             j["format"].get<std::string>());
  fmt::print("name          {}\n", j["name"].get<std::string>());
  fmt::print("architecture  {}\n", j["architecture"].get<std::string>());
  fmt::print("parameters    {} ({:.1f} M)\n", j["parameters"].get<int64_t>(),
             j["parameters"].get<double>() / 1e6);
  fmt::print("file size     {}\n", human_bytes(j["file_bytes"].get<double>()));
  fmt::print("\nhyperparameters\n");
  for (const auto& [key, value] : h.items()) fmt::print("  {:<16}{}\n", key, value.dump());
  fmt::print("\ntensor types\n");
  for (const auto& [type, t] : j["tensor_types"].items())
    fmt::print("  {:<6}{:>5} tensors {:>14} values {:>12}\n", type, t["tensors"].get<int64_t>(),
               t["elements"].get<int64_t>(), human_bytes(t["bytes"].get<double>()));
  fmt::print("\nKV cache per token\n");
  for (const auto& [type, bytes] : j["kv_bytes_per_token"].items())
    fmt::print("  {:<6}{}\n", type, human_bytes(bytes.get<double>()));
  fmt::print("\ntokenizer     {}, {} tokens\n", j["tokenizer"]["kind"].get<std::string>(),
             j["tokenizer"]["vocab_size"].get<int>());
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("inspect", "Show a model's architecture, tensors and KV cache cost");
  cmd->footer(
      "Examples:\n  kvscope inspect\n  kvscope inspect models/SmolLM2-135M-Instruct.Q4_1.gguf "
      "--json");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("model", *path, "GGUF file or Hugging Face folder (default: the default model)");
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([path, json] {
    const auto model = load_model(*path);
    const nlohmann::json j = describe(*model);
    if (*json)
      fmt::print("{}\n", j.dump(2));
    else
      print_text(j);
  });
}

}  // namespace kvscope::cli
