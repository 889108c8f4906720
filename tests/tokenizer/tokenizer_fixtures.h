#pragma once
// What the tokenizer tests share: the goldens of scripts/make_tokenizer_goldens.py and the
// tokenizers of the fixture files.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
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

// Corpus lines on which a reference is known to tokenize differently, in a mode ("plain" or
// "special"); the test checks that it still does, so that a change in either shows.
using Deviation = std::function<bool(const std::string& text, const std::string& mode)>;

inline bool never(const std::string&, const std::string&) { return false; }

// Every corpus line in each mode the reference has ("plain": special-token text as text,
// "special": parsed into special tokens) gives the reference's ids.
inline void expect_matches(const Tokenizer& tok, const std::string& reference,
                           const Deviation& deviation = never) {
  const auto& texts = tokenizer_goldens()["corpus"];
  // The llama.cpp references are there when llama-tokenize was built as the goldens were made.
  if (!tokenizer_goldens()["references"].contains(reference))
    GTEST_SKIP() << "no reference '" << reference << "' in goldens.json";
  const auto& modes = tokenizer_goldens()["references"][reference];
  for (const auto& [mode, lines] : modes.items()) {
    ASSERT_EQ(lines.size(), texts.size()) << reference;
    int matched = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      const std::string text = texts[i];
      const auto want = lines[i].get<std::vector<int32_t>>();
      const std::vector<int32_t> ids = tok.encode(text, mode == "special", false);
      matched += ids == want;
      if (deviation(text, mode))
        EXPECT_NE(ids, want) << reference << " (" << mode << ") line " << i
                             << " was a known deviation: " << text;
      else
        EXPECT_EQ(ids, want) << reference << " (" << mode << ") line " << i << ": " << text;
    }
    ::testing::Test::RecordProperty(reference + "_" + mode + "_matched", matched);
  }
}

}  // namespace kvscope::testing
