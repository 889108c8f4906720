#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

#include <map>

#include "core/error.h"

namespace kvscope {
namespace {

constexpr const char* kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
constexpr const char* kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// The regex lists of each tokenizer.ggml.pre name, as llama.cpp's vocabulary loader assigns them.
const std::map<std::string, std::vector<const char*>>& known() {
  static const std::map<std::string, std::vector<const char*>> kKnown = {
      {"gpt2", {kGpt2}},
      {"gpt-2", {kGpt2}},
      {"llama3", {kLlama3}},
      {"llama-v3", {kLlama3}},
      {"llama-bpe", {kLlama3}},
      {"qwen2", {kQwen2}},
      // SmolLM2 (and StarCoder): digits one by one, then GPT-2's rules.
      {"smollm", {"\\p{N}", kGpt2}},
      {"starcoder", {"\\p{N}", kGpt2}},
      {"default", {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"}},
  };
  return kKnown;
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(const std::string& name, const std::string& source) {
  auto it = known().find(name);
  if (it == known().end()) {
    std::string names;
    for (const auto& [n, _] : known()) names += (names.empty() ? "" : ", ") + n;
    fail("{}: pre-tokenizer '{}' is not supported (supported: {})", source, name, names);
  }
  for (const char* pattern : it->second) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    auto regex = std::make_unique<Regex>();
    regex->code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr);
    if (regex->code == nullptr)
      fail("pre-tokenizer '{}': regex does not compile (error {})", name, error);
    pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE);  // optional: falls back to the interpreter
    regexes_.push_back(std::move(regex));
  }
}

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces = {text};
  for (const auto& regex : regexes_) {
    pcre2_match_data* match = pcre2_match_data_create_from_pattern(regex->code, nullptr);
    std::vector<std::string_view> next;
    for (std::string_view piece : pieces) {
      PCRE2_SIZE start = 0;
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      while (start < piece.size()) {
        const int rc = pcre2_match(regex->code, subject, piece.size(), start, PCRE2_NO_UTF_CHECK,
                                   match, nullptr);
        if (rc < 0) break;
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
        if (ovector[1] == ovector[0]) break;  // the patterns never match empty; stop if one did
        if (ovector[0] > start) next.push_back(piece.substr(start, ovector[0] - start));
        next.push_back(piece.substr(ovector[0], ovector[1] - ovector[0]));
        start = ovector[1];
      }
      if (start < piece.size()) next.push_back(piece.substr(start));
    }
    pcre2_match_data_free(match);
    pieces = std::move(next);
  }
  return pieces;
}

}  // namespace kvscope
