#pragma once
// tokenizer.json → tokenizer.ggml.* (as convert_hf_to_gguf.py and gguf-py's SpecialVocab do).
#include <cstdint>
#include <filesystem>

#include "formats/hf_json.h"

namespace kvscope::hf {

// The vocabulary, merges, token types, pre-tokenizer and special tokens of `tok`, with
// tokenizer_config.json when there is one (else null) and config.json's token ids.
void translate_tokenizer_json(const JsonFile& tok, const JsonFile* tok_config,
                              const JsonFile& config, int64_t vocab_size, Metadata& m);

// The folder's tokenizer.json, tokenizer_config.json and chat template.
void translate_tokenizer(const std::filesystem::path& folder, const JsonFile& config,
                         int64_t vocab_size, Metadata& m);

}  // namespace kvscope::hf
