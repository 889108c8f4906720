#pragma once
// The weights of a Hugging Face folder: safetensors files (one, or the shards of an index) read
// with Hugging Face's tensor names, then renamed to GGUF's, GPT-2's Conv1D weights transposed.
#include <filesystem>

#include "formats/hf_config.h"
#include "formats/model_file.h"

namespace kvscope::hf {

// model.safetensors, or every shard model.safetensors.index.json lists, into out.tensors.
void read_weights(const std::filesystem::path& folder, ModelFile& out);

// Hugging Face names → GGUF names; Error on a tensor that `arch` does not have.
void rename_tensors(const ArchConfig& arch, ModelFile& out);

}  // namespace kvscope::hf
