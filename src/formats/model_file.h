#pragma once
// What a model file (or checkpoint folder) holds, format-independent: metadata and tensor views.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "formats/metadata.h"

namespace kvscope {

enum class FileFormat { kGguf, kSafetensors };

struct ModelFile {
  std::string path;
  FileFormat format = FileFormat::kGguf;
  uint64_t file_bytes = 0;
  Metadata meta;
  std::map<std::string, TensorView> tensors;
  std::vector<std::unique_ptr<MappedFile>> mappings;  // keep the views' memory alive
  std::vector<std::vector<uint8_t>> converted;        // tensors that had to be rewritten

  const TensorView* find(const std::string& name) const;
  const TensorView& require(const std::string& name) const;
};

// Opens a .gguf file or a Hugging Face checkpoint folder, whichever `path` is.
std::unique_ptr<ModelFile> open_model_file(const std::string& path);

}  // namespace kvscope
