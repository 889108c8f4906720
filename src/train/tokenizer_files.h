#pragma once
// A trained vocabulary as Hugging Face writes it (tokenizer.json, tokenizer_config.json with the
// ChatML template) and as kvscope's tokenizer reads it (GGUF-style metadata), so that the
// trainer encodes its data exactly as a loaded checkpoint will.
#include <memory>
#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"
#include "train/bpe_trainer.h"

namespace kvscope::train {

nlohmann::json tokenizer_json(const BpeVocab& vocab);
nlohmann::json tokenizer_config_json(int context);
std::unique_ptr<Tokenizer> make_tokenizer(const BpeVocab& vocab);
// The chat template's Jinja source (ChatML, no default system prompt).
const std::string& chat_template_source();

}  // namespace kvscope::train
