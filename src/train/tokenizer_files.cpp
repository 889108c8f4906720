#include "train/tokenizer_files.h"

#include "tokenizer/chat_template.h"

namespace kvscope::train {
namespace {

using nlohmann::json;

json byte_level(bool add_prefix_space) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", true},
          {"use_regex", true}};
}

MetaValue strings(const std::vector<std::string>& items) {
  std::vector<MetaValue> values;
  for (const std::string& s : items) values.push_back(MetaValue::of_string(s));
  return MetaValue::of_array(MetaType::kString, std::move(values));
}

}  // namespace

const std::string& chat_template_source() {
  return builtin_template_source(BuiltinTemplate::kChatMl);
}

json tokenizer_json(const BpeVocab& v) {
  json added = json::array(), vocab = json::object(), merges = json::array();
  for (int i = 0; i < v.n_special; ++i)
    added.push_back({{"id", i},
                     {"content", v.tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  for (size_t i = 0; i < v.tokens.size(); ++i) vocab[v.tokens[i]] = i;
  for (const auto& [a, b] : v.merges) merges.push_back({a, b});
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", byte_level(false)},
          {"post_processor", byte_level(true)},
          {"decoder", byte_level(true)},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", merges}}}};
}

json tokenizer_config_json(int context) {
  return {{"tokenizer_class", "PreTrainedTokenizerFast"},
          {"eos_token", "<|im_end|>"},
          {"pad_token", "<|endoftext|>"},
          {"add_bos_token", false},
          {"add_eos_token", false},
          {"model_max_length", context},
          {"chat_template", chat_template_source()}};
}

std::unique_ptr<Tokenizer> make_tokenizer(const BpeVocab& v) {
  Metadata m("the trained tokenizer");
  m.set("tokenizer.ggml.model", MetaValue::of_string("gpt2"));
  m.set("tokenizer.ggml.pre", MetaValue::of_string("gpt2"));
  m.set("tokenizer.ggml.tokens", strings(v.tokens));
  std::vector<MetaValue> types;
  for (size_t i = 0; i < v.tokens.size(); ++i)  // llama.cpp's types: 3 control, 1 normal
    types.push_back(MetaValue::of_int(static_cast<int>(i) < v.n_special ? 3 : 1, MetaType::kI32));
  m.set("tokenizer.ggml.token_type", MetaValue::of_array(MetaType::kI32, std::move(types)));
  std::vector<std::string> merges;
  for (const auto& [a, b] : v.merges) merges.push_back(a + " " + b);
  m.set("tokenizer.ggml.merges", strings(merges));
  m.set("tokenizer.ggml.eos_token_id", MetaValue::of_int(2, MetaType::kU32));  // <|im_end|>
  m.set("tokenizer.ggml.add_bos_token", MetaValue::of_bool(false));
  m.set("tokenizer.chat_template", MetaValue::of_string(chat_template_source()));
  return Tokenizer::from_metadata(m);
}

}  // namespace kvscope::train
