#pragma once
// Splits text into the words BPE works on, with the pre-tokenizer regexes of each vocabulary
// family (tokenizer.ggml.pre). Several regexes apply in turn, each splitting the pieces of the
// one before; text between matches stays a piece of its own, as in llama.cpp.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kvscope {

// Whether llama.cpp takes a word that is a token as it is, without merging, for this name (Hugging
// Face's ignore_merges, set in Llama 3's tokenizer.json).
bool pre_tokenizer_ignores_merges(const std::string& name);

class PreTokenizer {
 public:
  // Error for a name it does not know, listing the supported ones.
  PreTokenizer(const std::string& name, const std::string& source);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Regex;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace kvscope
