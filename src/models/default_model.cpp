#include "models/default_model.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace kvscope {

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

}  // namespace kvscope
