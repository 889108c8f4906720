#pragma once
// Which model a caller means when it names none: the command line's and the Python package's
// default, with the same message when it has not been fetched.
#include <memory>
#include <string>

#include "models/model.h"

namespace kvscope {

constexpr const char* kDefaultModelName = "SmolLM2-135M-Instruct.Q4_1.gguf";

// The path given, else $KVSCOPE_MODEL, else models/<default> in the source tree.
std::string resolve_model_path(const std::string& given);
// Loads it; a missing default model names the command that fetches it.
std::unique_ptr<Model> load_model(const std::string& given);

}  // namespace kvscope
