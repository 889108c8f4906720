#include "formats/hf_tokenizer.h"

#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace kvscope::hf {
namespace {

namespace fs = std::filesystem;

// llama.cpp's token types.
enum TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<bool> added, special;              // from added_tokens
  std::unordered_map<std::string, int64_t> ids;  // every token's text → id
};

bool looks_special(const std::string& t) {  // convert_hf_to_gguf.py's does_token_look_special
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
  };
  return t == "<pad>" || t == "<mask>" || wrapped("<|", "|>") || wrapped("<｜", "｜>") ||
         wrapped("<unused", ">");
}

Vocab read_vocab(const JsonFile& tok, const JsonObject& model, int64_t vocab_size) {
  const json* entries = model.find("vocab");
  if (entries == nullptr || !entries->is_object())
    fail("{}: field 'model.vocab' is missing, expected an object of token to id", tok.path);
  std::map<int64_t, std::string> by_id;
  auto add = [&](const std::string& text, const json& id, const std::string& field) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0)
      fail("{}: field '{}' is {}, expected a token id", tok.path, field, id.dump());
    const int64_t i = id.get<int64_t>();
    if (i >= vocab_size)
      fail("{}: token '{}' has id {}, beyond config.json vocab_size {}", tok.path, text, i,
           vocab_size);
    auto [it, fresh] = by_id.emplace(i, text);
    if (!fresh && it->second != text)
      fail("{}: id {} is both '{}' and '{}'", tok.path, i, it->second, text);
  };
  for (const auto& [text, id] : entries->items()) add(text, id, "model.vocab." + text);

  Vocab v;
  std::map<int64_t, bool> added_special;
  if (const json* added = JsonObject(tok.path, tok.value).find("added_tokens")) {
    if (!added->is_array()) fail("{}: field 'added_tokens' is not a list", tok.path);
    for (const json& a : *added) {
      if (!a.is_object() || !a.contains("id") || !a.contains("content") ||
          !a["content"].is_string())
        fail("{}: an entry of 'added_tokens' lacks its id or content", tok.path);
      add(a["content"].get<std::string>(), a["id"], "added_tokens.id");
      added_special[a["id"].get<int64_t>()] = a.value("special", false);
    }
  }
  // Gaps up to the model's vocabulary size are filled as convert_hf_to_gguf.py fills them.
  const auto n = static_cast<size_t>(vocab_size);
  v.tokens.resize(n);
  v.types.assign(n, kNormal);
  v.added.assign(n, false);
  v.special.assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    auto it = by_id.find(static_cast<int64_t>(i));
    if (it == by_id.end()) {
      v.tokens[i] = fmt::format("[PAD{}]", i);
      v.types[i] = kUnused;
      continue;
    }
    v.tokens[i] = it->second;
    v.ids.emplace(it->second, static_cast<int64_t>(i));
    if (auto a = added_special.find(static_cast<int64_t>(i)); a != added_special.end()) {
      v.added[i] = true;
      v.special[i] = a->second;
    }
  }
  return v;
}

// Merges as "left right" strings; tokenizer.json has them so or as [left, right] pairs. A space
// inside a pair's member is written as U+0120, as gguf-py does.
std::vector<std::string> read_merges(const JsonFile& tok, const JsonObject& model) {
  std::vector<std::string> merges;
  const json* list = model.find("merges");
  if (list == nullptr) return merges;
  if (!list->is_array()) fail("{}: field 'model.merges' is not a list", tok.path);
  auto escape = [](const std::string& s) { return replace_all(s, " ", "\xc4\xa0"); };
  for (const json& m : *list) {
    if (m.is_string()) {
      merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.push_back(escape(m[0].get<std::string>()) + " " + escape(m[1].get<std::string>()));
    } else {
      fail("{}: a 'model.merges' entry is {}, expected \"a b\" or [\"a\", \"b\"]", tok.path,
           m.dump());
    }
  }
  return merges;
}

// The pre-tokenizer's components in order, as one line: "Split(<regex>) + ByteLevel".
std::string pre_tokenizer_signature(const json& pre) {
  if (pre.is_null()) return "none";
  std::vector<const json*> parts;
  if (pre.value("type", "") == "Sequence" && pre.contains("pretokenizers") &&
      pre["pretokenizers"].is_array()) {
    for (const json& p : pre["pretokenizers"]) parts.push_back(&p);
  } else {
    parts.push_back(&pre);
  }
  std::string sig;
  for (const json* p : parts) {
    if (!sig.empty()) sig += " + ";
    const std::string type = p->is_object() ? p->value("type", "?") : "?";
    sig += type;
    if (type == "ByteLevel" && p->value("use_regex", true)) sig += "(gpt2 regex)";
    if (type == "Digits" && p->value("individual_digits", false)) sig += "(individual)";
    if (type == "Split" && p->contains("pattern") && (*p)["pattern"].is_object()) {
      const json& pattern = (*p)["pattern"];
      const json& text =
          pattern.contains("Regex") ? pattern["Regex"] : pattern.value("String", json());
      sig += '(';
      sig += text.is_string() ? text.get<std::string>() : std::string("?");
      sig += ')';
    }
  }
  return sig;
}

// The byte-level pre-tokenizers llama.cpp knows, by the signature above.
std::string known_pre_tokenizer(const std::string& signature) {
  static const std::string kGpt2Regex =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
  static const std::string kLlama3Regex =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const std::string kQwen2Regex =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const std::vector<std::pair<std::string, std::string>> kKnown = {
      {"ByteLevel(gpt2 regex)", "gpt2"},
      {"Split(" + kGpt2Regex + ") + ByteLevel", "gpt2"},
      {"Split(" + kLlama3Regex + ") + ByteLevel", "llama-bpe"},
      {"Split(" + kQwen2Regex + ") + ByteLevel", "qwen2"},
      {"Digits(individual) + ByteLevel(gpt2 regex)", "smollm"},
  };
  for (const auto& [sig, pre] : kKnown)
    if (sig == signature) return pre;
  return "";
}

bool mentions(const json& j, std::string_view needle) {
  return j.dump().find(needle) != std::string::npos;
}

// SentencePiece-style BPE (Llama 2) marks word starts with "▁" and falls back to <0xNN> bytes.
bool is_sentencepiece(const json& tok, const JsonObject& model) {
  const json empty;
  const json& normalizer = tok.contains("normalizer") ? tok["normalizer"] : empty;
  const json& pre = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"] : empty;
  return model.opt_bool("byte_fallback").value_or(false) || mentions(pre, "Metaspace") ||
         mentions(normalizer, "\u2581");
}

bool sentencepiece_adds_space(const json& tok) {
  const json empty;
  const json& normalizer = tok.contains("normalizer") ? tok["normalizer"] : empty;
  const json& pre = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"] : empty;
  if (mentions(normalizer, "\"Prepend\"")) return true;
  if (!mentions(pre, "Metaspace")) return false;
  return mentions(pre, "\"prepend_scheme\":\"first\"") ||
         mentions(pre, "\"prepend_scheme\":\"always\"") ||
         mentions(pre, "\"add_prefix_space\":true");
}

bool is_byte_token(const std::string& t) {  // <0xNN>
  return t.size() == 6 && t.starts_with("<0x") && t.back() == '>' &&
         std::isxdigit(static_cast<unsigned char>(t[3])) &&
         std::isxdigit(static_cast<unsigned char>(t[4]));
}

// SentencePiece ranks merges by the score of the piece they make; tokenizer.json keeps only the
// merges' order, so a piece scores minus the rank of the first merge that makes it (pieces no
// merge makes score 0). The same order of merging, not the sentencepiece model's numbers.
std::vector<float> merge_scores(const Vocab& v, const std::vector<std::string>& merges) {
  std::vector<float> scores(v.tokens.size(), 0.0f);
  std::vector<bool> scored(v.tokens.size(), false);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const size_t space = merges[rank].find(' ');
    if (space == std::string::npos) continue;
    const std::string piece = merges[rank].substr(0, space) + merges[rank].substr(space + 1);
    auto it = v.ids.find(piece);
    if (it == v.ids.end() || scored[it->second]) continue;
    scores[it->second] = -static_cast<float>(rank);
    scored[it->second] = true;
  }
  return scores;
}

// The text of a special token entry in tokenizer_config.json: "<s>" or {"content": "<s>"}.
std::optional<std::string> special_content(const json* entry) {
  if (entry == nullptr) return std::nullopt;
  if (entry->is_string()) return entry->get<std::string>();
  if (entry->is_object() && entry->contains("content") && (*entry)["content"].is_string())
    return (*entry)["content"].get<std::string>();
  return std::nullopt;
}

using SpecialTexts = std::map<std::string, std::string>;  // "bos" → "<s>"
using AddFlags = std::map<std::string, bool>;             // "bos" → add it to every encoding

SpecialTexts special_texts(const JsonFile* tok_config) {
  SpecialTexts texts;
  if (tok_config == nullptr) return texts;
  const JsonObject tc(tok_config->path, tok_config->value);
  for (const auto& kind : {"bos", "eos", "unk", "sep", "pad", "cls", "mask"})
    if (auto c = special_content(tc.find(std::string(kind) + "_token"))) texts[kind] = *c;
  if (!texts.count("bos") && texts.count("cls")) texts["bos"] = texts["cls"];
  if (!texts.count("eos") && texts.count("sep")) texts["eos"] = texts["sep"];
  return texts;
}

// A TemplateProcessing post-processor tells whether BOS and EOS wrap a single sequence (and,
// without tokenizer_config.json, which tokens they are).
void read_post_processor(const json& tok, bool has_config, SpecialTexts& texts, AddFlags& add) {
  if (!tok.contains("post_processor") || !tok["post_processor"].is_object()) return;
  const json& post = tok["post_processor"];
  const std::vector<json> processors = post.contains("processors") && post["processors"].is_array()
                                           ? post["processors"].get<std::vector<json>>()
                                           : std::vector<json>{post};
  auto special_id = [](const json& item) -> std::optional<std::string> {
    if (!item.is_object() || !item.contains("SpecialToken")) return std::nullopt;
    const json& st = item["SpecialToken"];
    if (!st.is_object() || !st.contains("id")) return std::nullopt;
    return special_content(&st["id"]);
  };
  for (const json& p : processors) {
    if (!p.is_object() || p.value("type", "") != "TemplateProcessing") continue;
    const json single = p.value("single", json::array());
    if (!single.is_array() || single.size() < 2) continue;
    for (const auto& [kind, item] : {std::pair{"bos", single.front()}, {"eos", single.back()}}) {
      if (auto id = special_id(item)) {
        if (!has_config) texts[kind] = *id;
        add[kind] = texts.count(kind) && *id == texts[kind];
      }
    }
  }
}

// Special token ids and whether to add BOS/EOS: from tokenizer.json's post-processor, then
// tokenizer_config.json, then config.json's *_token_id, as gguf-py's SpecialVocab reads them.
void translate_special_tokens(const JsonFile& tok, const JsonFile* tok_config,
                              const JsonFile& config, const Vocab& v, Metadata& m) {
  static const std::pair<const char*, const char*> kKinds[] = {
      {"bos", "bos_token_id"},       {"eos", "eos_token_id"},     {"unk", "unknown_token_id"},
      {"sep", "seperator_token_id"}, {"pad", "padding_token_id"}, {"mask", "mask_token_id"}};
  SpecialTexts texts = special_texts(tok_config);
  AddFlags add;
  read_post_processor(tok.value, tok_config != nullptr, texts, add);
  if (tok_config != nullptr) {
    const JsonObject tc(tok_config->path, tok_config->value);
    for (const auto& kind : {"bos", "eos"})
      if (const json* a = tc.find(std::string("add_") + kind + "_token"); a && a->is_boolean())
        add[kind] = a->get<bool>();
  }
  const JsonObject c(config.path, config.value);
  for (const auto& [kind, key] : kKinds) {
    std::optional<int64_t> id;
    if (auto it = texts.find(kind); it != texts.end())
      if (auto found = v.ids.find(it->second); found != v.ids.end()) id = found->second;
    if (!id) {
      // config.json may list several (Llama 3.1's eos_token_id); the first stands for them.
      const json* cid = c.find(std::string(kind) + "_token_id");
      if (cid && cid->is_array() && !cid->empty()) cid = &(*cid)[0];
      if (cid && cid->is_number_integer() && cid->get<int64_t>() >= 0 &&
          cid->get<int64_t>() < static_cast<int64_t>(v.tokens.size()))
        id = cid->get<int64_t>();
    }
    if (id) set_u32(m, std::string("tokenizer.ggml.") + key, *id);
  }
  for (const auto& [kind, value] : add)
    m.set("tokenizer.ggml.add_" + kind + "_token", MetaValue::of_bool(value));
}

// tokenizer_config.json's chat_template (a string, or a list of {name, template}), else
// chat_template.jinja, else chat_template.json.
void translate_chat_template(const fs::path& folder, const JsonFile* tok_config, Metadata& m) {
  json source;
  if (tok_config != nullptr && tok_config->value.contains("chat_template"))
    source = tok_config->value["chat_template"];
  if (source.is_null() && fs::exists(folder / "chat_template.jinja")) {
    std::ifstream in(folder / "chat_template.jinja", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    source = text.str();
  }
  if (source.is_null() && fs::exists(folder / "chat_template.json")) {
    const JsonFile f = load_json(folder / "chat_template.json");
    source = f.value.value("chat_template", json());
  }
  if (source.is_string()) {
    set_string(m, "tokenizer.chat_template", source.get<std::string>());
  } else if (source.is_array()) {
    for (const json& t : source) {
      if (!t.is_object() || !t.contains("template") || !t["template"].is_string()) continue;
      const std::string name = t.value("name", "");
      const std::string key = name.empty() || name == "default" ? "tokenizer.chat_template"
                                                                : "tokenizer.chat_template." + name;
      set_string(m, key, t["template"].get<std::string>());
    }
  }
}

MetaValue string_array(const std::vector<std::string>& items) {
  std::vector<MetaValue> values;
  values.reserve(items.size());
  for (const std::string& s : items) values.push_back(MetaValue::of_string(s));
  return MetaValue::of_array(MetaType::kString, std::move(values));
}

template <typename T>
MetaValue number_array(const std::vector<T>& items, MetaType type) {
  std::vector<MetaValue> values;
  values.reserve(items.size());
  for (T x : items) {
    if constexpr (std::is_floating_point_v<T>) {
      values.push_back(MetaValue::of_real(x, type));
    } else {
      values.push_back(MetaValue::of_int(x, type));
    }
  }
  return MetaValue::of_array(type, std::move(values));
}

// Llama 2 style: <0xNN> byte tokens, <unk>, scores from the merge order, "▁" word starts.
void translate_sentencepiece(const json& tok, const JsonObject& model, Vocab& v,
                             const std::vector<std::string>& merges, Metadata& m) {
  const std::string unk = model.opt_string("unk_token").value_or("<unk>");
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] == kUnused) continue;
    v.types[i] = is_byte_token(v.tokens[i]) ? kByte
                 : v.tokens[i] == unk       ? kUnknown
                 : v.special[i]             ? kControl
                 : v.added[i]               ? kUserDefined
                                            : kNormal;
  }
  set_string(m, "tokenizer.ggml.model", "llama");
  m.set("tokenizer.ggml.scores", number_array(merge_scores(v, merges), MetaType::kF32));
  m.set("tokenizer.ggml.add_space_prefix", MetaValue::of_bool(sentencepiece_adds_space(tok)));
  if (auto it = v.ids.find(unk); it != v.ids.end())
    set_u32(m, "tokenizer.ggml.unknown_token_id", it->second);
}

// GPT-2 style: byte-level tokens, a pre-tokenizer llama.cpp knows by name.
void translate_byte_level(const JsonFile& tok, Vocab& v, Metadata& m) {
  const json pre_json = tok.value.value("pre_tokenizer", json());
  const std::string signature = pre_tokenizer_signature(pre_json);
  if (!mentions(pre_json, "ByteLevel"))
    fail("{}: field 'pre_tokenizer' is {}, expected a ByteLevel or Metaspace BPE", tok.path,
         signature);
  const std::string pre = known_pre_tokenizer(signature);
  if (pre.empty())
    fail(
        "{}: field 'pre_tokenizer' is {}, expected one kvscope knows (gpt2, llama-bpe, qwen2, "
        "smollm)",
        tok.path, signature);
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (!v.added[i]) continue;
    if (v.special[i] || looks_special(v.tokens[i])) {
      v.types[i] = kControl;
    } else {
      v.types[i] = kUserDefined;
      // convert_hf_to_gguf.py pre-normalizes user-defined tokens' "▁" to spaces.
      v.tokens[i] = replace_all(v.tokens[i], "\u2581", " ");
    }
  }
  set_string(m, "tokenizer.ggml.model", "gpt2");
  set_string(m, "tokenizer.ggml.pre", pre);
}
}  // namespace

void translate_tokenizer_json(const JsonFile& tok, const JsonFile* tok_config,
                              const JsonFile& config, int64_t vocab_size, Metadata& m) {
  const auto model = JsonObject(tok.path, tok.value).opt_object("model");
  if (!model) fail("{}: field 'model' is missing, expected the tokenizer model", tok.path);
  const std::string type = model->opt_string("type").value_or("BPE");
  if (type != "BPE")
    fail("{}: field 'model.type' is '{}', expected 'BPE' (no other tokenizer is supported)",
         tok.path, type);
  Vocab v = read_vocab(tok, *model, vocab_size);
  const std::vector<std::string> merges = read_merges(tok, *model);
  if (is_sentencepiece(tok.value, *model)) {
    translate_sentencepiece(tok.value, *model, v, merges, m);
  } else {
    translate_byte_level(tok, v, m);
  }
  m.set("tokenizer.ggml.tokens", string_array(v.tokens));
  m.set("tokenizer.ggml.token_type", number_array(v.types, MetaType::kI32));
  if (!merges.empty()) m.set("tokenizer.ggml.merges", string_array(merges));
  translate_special_tokens(tok, tok_config, config, v, m);
}

void translate_tokenizer(const fs::path& folder, const JsonFile& config, int64_t vocab_size,
                         Metadata& m) {
  const JsonFile tok = load_json(folder / "tokenizer.json");
  std::optional<JsonFile> tok_config;
  if (fs::exists(folder / "tokenizer_config.json"))
    tok_config = load_json(folder / "tokenizer_config.json");
  translate_tokenizer_json(tok, tok_config ? &*tok_config : nullptr, config, vocab_size, m);
  translate_chat_template(folder, tok_config ? &*tok_config : nullptr, m);
}

}  // namespace kvscope::hf
