// A Hugging Face checkpoint folder read as if it were a GGUF file: config.json becomes `llama.*` /
// `gpt2.*` metadata, the safetensors tensors take GGUF's names (GPT-2's Conv1D weights are
// transposed on the way), and tokenizer.json becomes `tokenizer.ggml.*` the way llama.cpp's
// convert_hf_to_gguf.py translates it. Llama's Q and K are NOT permuted: the model runs
// safetensors-loaded Llama with NeoX-order rotary embeddings instead.
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "formats/hf_config.h"
#include "formats/hf_tensors.h"
#include "formats/hf_tokenizer.h"
#include "formats/safetensors.h"

namespace kvscope {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<ModelFile> read_folder(const std::string& folder_name) {
  const fs::path folder(folder_name);
  auto out = std::make_unique<ModelFile>();
  out->path = folder_name;
  out->format = FileFormat::kSafetensors;
  out->meta = Metadata(folder_name);
  if (!fs::exists(folder / "config.json"))
    fail("{}: no config.json (not a Hugging Face checkpoint folder)", folder_name);
  const hf::JsonFile config = hf::load_json(folder / "config.json");
  const hf::ArchConfig arch = hf::translate_config(folder, config, out->meta);
  hf::read_weights(folder, *out);
  hf::rename_tensors(arch, *out);
  if (fs::exists(folder / "generation_config.json"))
    hf::translate_generation_config(hf::load_json(folder / "generation_config.json"), out->meta);
  if (fs::exists(folder / "tokenizer.json"))
    hf::translate_tokenizer(folder, config, arch.vocab_size, out->meta);
  return out;
}

}  // namespace

std::unique_ptr<ModelFile> read_hf_folder(const std::string& folder) {
  try {
    // The checks cover the shapes real files have; anything else still fails cleanly.
    return hf::with_json_errors(folder, [&] { return read_folder(folder); });
  } catch (const fs::filesystem_error& e) {
    fail("{}: {}", folder, e.what());
  }
}

}  // namespace kvscope
