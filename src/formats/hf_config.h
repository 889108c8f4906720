#pragma once
// config.json → a model's hyperparameters under GGUF's keys (`llama.*`, `qwen2.*`, `qwen3.*`,
// `gpt2.*`), as llama.cpp's converter writes them.
#include <cstdint>
#include <filesystem>
#include <string>

#include "formats/hf_json.h"

namespace kvscope::hf {

struct ArchConfig {
  std::string arch;  // "llama", "qwen2", "qwen3", "phi3", "gemma3" or "gpt2"
  int64_t vocab_size = 0;
  bool tied = false;  // lm_head shares the token embedding
};

// Sets the architecture's hyperparameters, general.architecture and general.name (the folder's
// name) in `m`; Error naming the field when config.json asks for what kvscope does not run.
ArchConfig translate_config(const std::filesystem::path& folder, const JsonFile& file, Metadata& m);

// generation_config.json's sampling (temperature, top_k, top_p, min_p, repetition_penalty) as
// `general.sampling.*`, the keys llama.cpp's converter writes from the same file.
void translate_generation_config(const JsonFile& file, Metadata& m);

}  // namespace kvscope::hf
