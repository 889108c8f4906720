// Every vocabulary llama.cpp ships (models/ggml-vocab-*.gguf in its source, which
// scripts/build_llama_cpp.sh --source fetches with the llama-cpp-python sdist): each loads as its
// family's tokenizer and gives the ids of the test cases beside it (.inp / .out, made with the
// family's Hugging Face tokenizer; llama.cpp's test-tokenizer-0 checks the same).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tokenizer_fixtures.h"

namespace kvscope {
namespace {

namespace fs = std::filesystem;

struct Vocab {
  const char* name;
  const char* kind;
};

const Vocab kVocabs[] = {
    {"gpt-2", "byte-level BPE (gpt-2)"},
    {"llama-bpe", "byte-level BPE (llama-bpe)"},
    {"llama-spm", "SentencePiece BPE"},
    {"qwen2", "byte-level BPE (qwen2)"},
    {"qwen35", "byte-level BPE (qwen35)"},
    {"phi-3", "SentencePiece BPE"},
    {"gemma-4", "BPE (gemma4)"},
    {"deepseek-llm", "byte-level BPE (deepseek-llm)"},
    {"deepseek-coder", "byte-level BPE (deepseek-coder)"},
    {"command-r", "byte-level BPE (command-r)"},
    {"falcon", "byte-level BPE (falcon)"},
    {"starcoder", "byte-level BPE (starcoder)"},
    {"mpt", "byte-level BPE (mpt)"},
    {"refact", "byte-level BPE (refact)"},
    {"gpt-neox", "byte-level BPE (default)"},
    {"baichuan", "SentencePiece BPE"},
    {"aquila", "byte-level BPE (default)"},
    {"bert-bge", "WordPiece"},
};

// $KVSCOPE_LLAMA_CPP_VOCABS (scripts/test.sh sets it, and then the files must be there), else
// the folder scripts/build_llama_cpp.sh extracts them to.
struct VocabFolder {
  fs::path path;
  bool required = false;
};

VocabFolder vocab_folder() {
  if (const char* env = std::getenv("KVSCOPE_LLAMA_CPP_VOCABS"); env != nullptr && *env != '\0')
    return {env, true};
  const char* cache = std::getenv("KVSCOPE_CACHE");
  const char* home = std::getenv("HOME");
  const fs::path root = cache != nullptr && *cache != '\0'
                            ? fs::path(cache)
                            : fs::path(home ? home : "") / ".cache/kvscope";
  return {root / "llama.cpp/src/models", false};
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The .inp cases are separated by "\n__ggml_vocab_test__\n"; each .out line holds one case's ids.
struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Case> read_cases(const fs::path& inp, const fs::path& out) {
  const std::string raw = slurp(inp);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<Case> cases;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    cases.push_back(
        {raw.substr(pos, next == std::string::npos ? std::string::npos : next - pos), {}});
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  std::ifstream ids(out);
  size_t i = 0;
  for (std::string line; std::getline(ids, line) && i < cases.size(); ++i) {
    std::istringstream in(line);
    for (int32_t id; in >> id;) cases[i].ids.push_back(id);
  }
  EXPECT_EQ(i, cases.size()) << out << " has fewer lines than " << inp << " has cases";
  return cases;
}

class LlamaCppVocab : public ::testing::TestWithParam<Vocab> {
 protected:
  void SetUp() override {
    const VocabFolder folder = vocab_folder();
    path_ = folder.path / (std::string("ggml-vocab-") + GetParam().name + ".gguf");
    if (fs::exists(path_)) return;
    if (folder.required) FAIL() << path_ << " is missing (KVSCOPE_LLAMA_CPP_VOCABS is set)";
    GTEST_SKIP() << path_ << " is not there: scripts/build_llama_cpp.sh --source fetches it "
                 << "(scripts/test.sh does)";
  }
  fs::path path_;
};

TEST_P(LlamaCppVocab, LoadsAsItsFamily) {
  const auto loaded = testing::load_tokenizer(path_.string());
  EXPECT_EQ(loaded.tokenizer->kind(), GetParam().kind);
}

// The cases llama.cpp's test-tokenizer-0 checks: plain text, no BOS.
TEST_P(LlamaCppVocab, MatchesTheReferenceTestsBesideIt) {
  const fs::path inp = path_.string() + ".inp", out = path_.string() + ".out";
  if (!fs::exists(inp)) GTEST_SKIP() << "llama.cpp ships no tests for " << GetParam().name;
  const auto loaded = testing::load_tokenizer(path_.string());
  for (const Case& c : read_cases(inp, out))
    EXPECT_EQ(loaded.tokenizer->encode(c.text, false, false), c.ids) << "text: '" << c.text << "'";
}

// Where llama.cpp tokenizes kvscope's corpus otherwise, pinned (see the README's tokenizer table):
// - qwen2, qwen35, aquila: llama.cpp makes the normal tokens "</s>" and "<|endoftext|>" control
//   tokens, as it guesses end-of-generation tokens by their text, and parses them as special;
// - phi-3: with special-token parsing off, llama.cpp reads the user-defined token "</s>" as text;
//   kvscope parses user-defined tokens always, as SentencePiece and Hugging Face's tokenizers do;
// - bert-bge: llama.cpp leaves Hangul syllables whole and drops Devanagari's spacing vowel signs,
//   where BERT's normalizer (NFD, then nonspacing marks dropped), which kvscope follows, splits
//   the syllables into jamo and keeps those signs.
testing::Deviation corpus_deviation(const std::string& vocab) {
  const auto has = [](const std::string& text, const char* piece) {
    return text.find(piece) != std::string::npos;
  };
  if (vocab == "qwen2" || vocab == "qwen35")
    return [=](const std::string& text, const std::string& mode) {
      return mode == "special" && has(text, "</s>");
    };
  if (vocab == "aquila")
    return [=](const std::string& text, const std::string& mode) {
      return mode == "special" && has(text, "<|endoftext|>");
    };
  if (vocab == "phi-3")
    return [=](const std::string& text, const std::string& mode) {
      return mode == "plain" && has(text, "</s>");
    };
  if (vocab == "bert-bge")
    return [=](const std::string& text, const std::string&) {
      return has(text, "한국어") || has(text, "नमस्ते");
    };
  return testing::never;
}

// kvscope's own corpus (many scripts, emoji, numbers, code, whitespace, special-token text), in
// both modes, against llama-tokenize's ids (scripts/make_tokenizer_goldens.py --llama-cpp-vocabs).
TEST_P(LlamaCppVocab, MatchesLlamaCppOnTheCorpus) {
  testing::expect_matches(*testing::load_tokenizer(path_.string()).tokenizer,
                          std::string("vocab_") + GetParam().name + "_llama_cpp",
                          corpus_deviation(GetParam().name));
}

INSTANTIATE_TEST_SUITE_P(All, LlamaCppVocab, ::testing::ValuesIn(kVocabs),
                         [](const ::testing::TestParamInfo<Vocab>& info) {
                           std::string name = info.param.name;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace kvscope
