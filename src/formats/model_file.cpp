#include "formats/model_file.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"

namespace kvscope {

const TensorView* ModelFile::find(const std::string& name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

const TensorView& ModelFile::require(const std::string& name) const {
  const TensorView* t = find(name);
  if (t == nullptr) fail("{}: missing tensor '{}'", path, name);
  return *t;
}

std::unique_ptr<ModelFile> open_model_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("{}: no such file or folder", path);
  if (fs::is_directory(path, ec)) return read_hf_folder(path);
  return read_gguf(path);
}

}  // namespace kvscope
