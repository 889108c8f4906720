#pragma once
// What `kvscope inspect --json` prints and the Python Model's .config holds: architecture,
// hyperparameters, parameter count, tensor types and bytes, KV bytes per token, tokenizer.
#include <nlohmann/json.hpp>

#include "models/model.h"

namespace kvscope {

nlohmann::json describe_model(const Model& model);

}  // namespace kvscope
