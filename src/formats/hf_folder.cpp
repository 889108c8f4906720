#include "core/error.h"
#include "formats/safetensors.h"

namespace kvscope {

std::unique_ptr<ModelFile> read_hf_folder(const std::string& folder) {
  fail("{}: Hugging Face folders are not readable yet", folder);
}

}  // namespace kvscope
