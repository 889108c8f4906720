#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

#include <map>

#include "core/error.h"

namespace kvscope {
namespace {

// The regexes of llama.cpp's llm_tokenizer_bpe (src/llama-vocab.cpp), Hugging Face's
// case-insensitive contractions "(?i:'s|...)" spelled out as llama.cpp spells them.
#define KVSCOPE_CONTRACTIONS R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))"
// llama.cpp's GPT-2 regex has no final "\s+": whitespace it leaves is a piece all the same.
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3 = KVSCOPE_CONTRACTIONS
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 = KVSCOPE_CONTRACTIONS
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen35 = KVSCOPE_CONTRACTIONS
    R"(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kJais2 = KVSCOPE_CONTRACTIONS
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1})";
constexpr const char* kChatGlm4 = KVSCOPE_CONTRACTIONS
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kBailingMoe =
    R"('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";
constexpr const char* kSeedCoder = KVSCOPE_CONTRACTIONS
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kUfakzeka =
    R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kExaoneMoe = KVSCOPE_CONTRACTIONS
    R"(|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)";
constexpr const char* kMiniCpm5 = KVSCOPE_CONTRACTIONS
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kTekken =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt4o =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+)" KVSCOPE_CONTRACTIONS
    R"(?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*)" KVSCOPE_CONTRACTIONS
    R"(?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGraniteEmbMulti =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))*((?=[\p{L}\p{M}])([^A-Z]))+)" KVSCOPE_CONTRACTIONS
    R"(?|[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))+((?=[\p{L}\p{M}])([^A-Z]))*)" KVSCOPE_CONTRACTIONS
    R"(?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kTinyAya =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)" KVSCOPE_CONTRACTIONS
    R"(?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)" KVSCOPE_CONTRACTIONS
    R"(?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kYoutu =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)" KVSCOPE_CONTRACTIONS
    R"(?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)" KVSCOPE_CONTRACTIONS
    R"(?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
#undef KVSCOPE_CONTRACTIONS
constexpr const char* kDigit = R"(\p{N})";
constexpr const char* kCjkKana = "[一-龥぀-ゟ゠-ヿ]+";
constexpr const char* kPoro = R"( ?[^(\s|.,!?…。，、।۔،)]+)";

using Regexes = std::vector<const char*>;

const Regexes kDefault = {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"};
const Regexes kDeepseekLlm = {
    "[\r\n]",
    // Letters, spelled as code points: an editor's Unicode normalization would break ranges.
    R"(\s?[A-Za-z\x{b5}\x{c0}-\x{d6}\x{d8}-\x{f6}\x{f8}-\x{1ba}\x{1bc}-\x{1bf}\x{1c4}-\x{293})"
    R"(\x{295}-\x{2af}\x{370}-\x{373}\x{376}\x{377}\x{37b}-\x{37d}\x{37f}\x{386}\x{388}-\x{38a})"
    R"(\x{38c}\x{38e}-\x{3a1}\x{3a3}-\x{3f5}\x{3f7}-\x{481}\x{48a}-\x{52f}\x{531}-\x{556})"
    R"(\x{10a0}-\x{10c5}\x{13a0}-\x{13f5}\x{13f8}-\x{13fd}\x{1c90}-\x{1cba}\x{1cbd}-\x{1cbf})"
    R"(\x{1d00}-\x{1d2b}\x{1d6b}-\x{1d77}\x{1d79}-\x{1d9a}\x{1e00}-\x{1f15}\x{1f18}-\x{1f1d})"
    R"(\x{1f20}-\x{1f45}\x{1f48}-\x{1f4d}\x{1f50}-\x{1f57}\x{1f59}\x{1f5b}\x{1f5d}\x{1f5f}-)"
    R"(\x{1f7d}\x{1f80}-\x{1fb4}\x{1fb6}-\x{1fbc}\x{1fbe}\x{1fc2}-\x{1fc4}\x{1fc6}-\x{1fcc})"
    R"(\x{1fd0}-\x{1fd3}\x{1fd6}-\x{1fdb}\x{1fe0}-\x{1fec}\x{1ff2}-\x{1ff4}\x{1ff6}-\x{1ffc})"
    R"(\x{2102}\x{2107}\x{210a}-\x{2113}\x{2115}\x{2119}-\x{211d}\x{2124}\x{2126}\x{2128})"
    R"(\x{212a}-\x{212d}\x{212f}-\x{2134}\x{2139}\x{213c}-\x{213f}\x{2145}-\x{2149}\x{214e})"
    R"(\x{2183}\x{2184}\x{2c00}-\x{2c7b}\x{2c7e}-\x{2ce4}\x{2ceb}-\x{2cee}\x{2cf2}\x{2cf3})"
    R"(\x{a640}-\x{a66d}\x{a680}-\x{a69b}\x{a722}-\x{a76f}\x{a771}-\x{a787}\x{a78b}-\x{a78e})"
    R"(\x{ab70}-\x{abbf}\x{fb00}-\x{fb06}\x{fb13}-\x{fb17}\x{ff21}-\x{ff3a}\x{ff41}-\x{ff5a})"
    R"(\x{10400}-\x{1044f}\x{104b0}-\x{104d3}\x{104d8}-\x{104fb}\x{10c80}-\x{10cb2}\x{10cc0}-)"
    R"(\x{10cf2}\x{118a0}-\x{118df}\x{1e900}-\x{1e943}]+)",
    R"(\s?[!-/:-~！-／：-～‘-‟　-。]+)", R"(\s+$)", "[一-龥ࠀ-一가-퟿]+", R"(\p{N}+)"};
const Regexes kDeepseek3 = {
    R"(\p{N}{1,3})", kCjkKana,
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
const Regexes kSpark25 = {
    R"(\p{N}{1,3})", kCjkKana,
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[\r\n]|\s+(?!\S)|\s+)",
    kDigit};
const Regexes kDeepseekCoder = {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)",
                                "[一-龥ࠀ-一가-퟿]+", kDigit};
const Regexes kFalcon = {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"};
const Regexes kDigitsThenGpt2 = {kDigit, kGpt2};
const Regexes kChameleon = {"<sentinel:[0-9]+>",       "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                            R"(([\t\n]|    |  ))",     kDigit,
                            R"([\p{P}!-/:-@\[-`{-~])", kGpt2};
const Regexes kLaguna = {R"([^\n]+|[\n]+)", kQwen2};
const Regexes kNewlines = {R"([^\n]+|[\n]+)"};

// Each tokenizer.ggml.pre name llama.cpp's vocabulary loader knows, with its regexes. Left out:
// kimi-k2, afmoe and superbpe, whose splits llama.cpp hand-writes or that match empty text.
const std::map<std::string, Regexes>& known() {
  static const std::map<std::string, Regexes> kKnown = [] {
    std::map<std::string, Regexes> m;
    auto add = [&](std::initializer_list<const char*> names, const Regexes& regexes) {
      for (const char* name : names) m[name] = regexes;
    };
    add({"default"}, kDefault);
    add({"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
         "jina-v5-nano", "dbrx", "smaug-bpe"},
        {kLlama3});
    add({"jais-2"}, {kJais2});
    add({"deepseek-llm"}, kDeepseekLlm);
    add({"deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"}, kDeepseek3);
    add({"spark2_5"}, kSpark25);
    add({"youtu"},
        {R"([\x{ac00}-\x{d7a3}\x{3131}-\x{318e}]+|[\x{ff01}\x{2026}\x{201c}\x{201d}\x{2018}\x{2019}\x{2014}\x{ff1a}\x{ff1b}\x{ff0c}\x{3001}-\x{303f}\x{fe30}-\x{fe4f}]+|[\x{3105}-\x{312f}]+|[\x{4e00}-\x{9fa5}\x{3040}-\x{309f}\x{30a0}-\x{30ff}]+)",
         kYoutu});
    add({"deepseek-coder"}, kDeepseekCoder);
    add({"falcon"}, kFalcon);
    add({"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b",
         "mellum2"},
        kDigitsThenGpt2);
    add({"gpt2",        "gpt-2",      "phi-2",      "jina-es",      "jina-de",
         "gigachat",    "jina-v2-es", "jina-v2-de", "a.x-4.0",      "mellum",
         "modern-bert", "exaone4",    "jina-v1-en", "jina-v2-code", "roberta-bpe",
         "mpt",         "olmo",       "jais",       "trillion",     "granite-docling"},
        {kGpt2});
    add({"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan",
         "solar-open", "grok-2"},
        {kQwen2});
    add({"qwen35"}, {kQwen35});
    add({"poro-chat", "bloom", "gpt3-finnish"}, {kPoro});
    add({"viking"}, {kPoro, kDigit});
    add({"chatglm-bpe", "glm4", "glm5"}, {kChatGlm4});
    add({"tekken"}, {kTekken});
    add({"chameleon"}, kChameleon);
    add({"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"}, {kGpt4o});
    add({"granite-embed-multi-97m"}, {kGraniteEmbMulti});
    add({"tiny_aya", "cohere2moe"}, {R"(\d{1,3}(?=(?:\d{3})*\b))", kTinyAya});
    add({"bailingmoe", "bailingmoe2", "llada-moe"}, {kBailingMoe});
    add({"seed-coder"}, {kSeedCoder});
    add({"ufakzeka"}, {kUfakzeka});
    add({"laguna"}, kLaguna);
    add({"exaone-moe"}, {kExaoneMoe});
    add({"minicpm5"}, {R"(\p{N}{1,3})", kMiniCpm5});
    add({"gemma4", "granite-embed-multi-311m", "sarvam-moe"}, kNewlines);
    return m;
  }();
  return kKnown;
}

}  // namespace

bool pre_tokenizer_ignores_merges(const std::string& name) {
  static const char* const kNames[] = {"llama3",       "llama-v3",
                                       "llama-bpe",    "falcon3",
                                       "falcon-h1",    "pixtral",
                                       "midm-2.0",     "lfm2",
                                       "jina-v5-nano", "youtu",
                                       "glm4",         "glm5",
                                       "tekken",       "granite-embed-multi-97m",
                                       "minicpm5"};
  for (const char* n : kNames)
    if (name == n) return true;
  return false;
}

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
    // DOLLAR_ENDONLY: "$" is the piece's end only, as in Hugging Face's and llama.cpp's engines.
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                                PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK | PCRE2_DOLLAR_ENDONLY,
                                &error, &offset, nullptr);
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
