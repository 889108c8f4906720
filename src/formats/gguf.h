#pragma once
#include <memory>
#include <string>

#include "formats/model_file.h"

namespace kvscope {

// Reads a GGUF file (versions 2 and 3): all metadata, and views of the tensors in place in the
// memory map. Throws Error on anything malformed.
std::unique_ptr<ModelFile> read_gguf(const std::string& path);

// The same, from bytes already in memory (used by the fuzzer); views point into `bytes`.
void parse_gguf(std::span<const uint8_t> bytes, ModelFile& out);

}  // namespace kvscope
