#include "common.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/error.h"

namespace kvscope::cli {

std::string resolve_model_path(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("KVSCOPE_MODEL"); env != nullptr && *env != '\0') return env;
  return std::string(KVSCOPE_SOURCE_DIR) + "/models/" + kDefaultModelName;
}

std::unique_ptr<Model> load_model(const std::string& given) {
  const std::string path = resolve_model_path(given);
  if (given.empty() && !std::filesystem::exists(path))
    fail("the default model is not there ({}); fetch it with: scripts/fetch_model.sh", path);
  return Model::load(path);
}

void add_model_option(CLI::App& app, std::string& path) {
  app.add_option("-m,--model", path,
                 "GGUF file or Hugging Face folder (default: $KVSCOPE_MODEL, else models/" +
                     std::string(kDefaultModelName) + ")");
}

void stream_to_stdout(int, int32_t, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void add_precision_option(CLI::App& app, Precision& precision) {
  const std::map<std::string, Precision> names = {{"fast", Precision::kFast}, {"exact", Precision::kExact}};
  app.add_option("--precision", precision,
                 "fast: int8 activations, as llama.cpp (default); exact: f32 activations, as transformers")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case));
}

}  // namespace kvscope::cli
