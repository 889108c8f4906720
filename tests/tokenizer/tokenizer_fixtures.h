#pragma once
// What the tokenizer tests share: the goldens of scripts/make_tokenizer_goldens.py and the
// tokenizers of the fixture files.
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "formats/model_file.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace kvscope::testing {

// tests/fixtures/tokenizer/goldens.json: the corpus, each reference's ids, chat renderings.
inline const nlohmann::json& tokenizer_goldens() {
  static const nlohmann::json goldens = [] {
    std::ifstream in(fixture("tokenizer/goldens.json"));
    return nlohmann::json::parse(in);
  }();
  return goldens;
}

struct LoadedTokenizer {
  std::unique_ptr<ModelFile> file;
  std::unique_ptr<Tokenizer> tokenizer;
};

// A GGUF file or a checkpoint folder, and the tokenizer its metadata describes.
inline LoadedTokenizer load_tokenizer(const std::string& path) {
  LoadedTokenizer loaded;
  loaded.file = open_model_file(path);
  loaded.tokenizer = Tokenizer::from_metadata(loaded.file->meta);
  return loaded;
}

// The tiny fixture vocabularies, by the name of their references in goldens.json.
inline std::string tiny_vocabulary(const std::string& name) {
  return fixture("tokenizer/" + name + ".gguf");
}

}  // namespace kvscope::testing
