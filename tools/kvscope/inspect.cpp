// kvscope inspect: what a model file holds and what its KV cache costs.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "common.h"
#include "kvcache/kv_cache.h"
#include "models/describe.h"

namespace kvscope::cli {
namespace {

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
    const nlohmann::json j = describe_model(*model);
    if (*json)
      fmt::print("{}\n", j.dump(2));
    else
      print_text(j);
  });
}

}  // namespace kvscope::cli
