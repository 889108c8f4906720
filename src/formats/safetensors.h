#pragma once
#include <memory>
#include <span>
#include <string>

#include "formats/model_file.h"

namespace kvscope {

// Reads one .safetensors file's tensors into `out` (views into the memory map), keeping the names
// as the file spells them. Dtypes F32, F16 and BF16.
void read_safetensors_file(const std::string& path, ModelFile& out);

// Parses bytes already in memory (used by the fuzzer); views point into `bytes`.
void parse_safetensors(std::span<const uint8_t> bytes, const std::string& source, ModelFile& out);

// Reads a Hugging Face checkpoint folder: config.json, model.safetensors or its shards, and
// tokenizer.json, translated into GGUF's tensor names and metadata keys.
std::unique_ptr<ModelFile> read_hf_folder(const std::string& folder);

}  // namespace kvscope
