// The built-in chat templates, for model files without one of their own.
#include "core/error.h"
#include "tokenizer/chat_template.h"

namespace kvscope {
namespace {

// Whether the vocabulary has `text` as one special token.
bool has_special(const Tokenizer& tokenizer, const std::string& text) {
  const std::vector<int32_t> ids = tokenizer.encode(text, true, false);
  return ids.size() == 1 && tokenizer.is_special(ids[0]);
}

std::string token_or_empty(const Tokenizer& tokenizer, int32_t id) {
  return id >= 0 ? tokenizer.token_text(id) : "";
}

}  // namespace

// SmolLM2's and Qwen's ChatML without their default system turn; Llama 2's and Llama 3's as
// their tokenizer_config.json have them.
const std::string& builtin_template_source(BuiltinTemplate which) {
  static const std::string kChatMl =
      "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
      "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
      "{{ '<|im_start|>assistant\\n' }}{% endif %}";
  static const std::string kLlama2 =
      "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
      "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = "
      "messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
      "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + "
      "system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = "
      "message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] "
      "' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + "
      "content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
  static const std::string kLlama3 =
      "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
      "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
      "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
      "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
      "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
  switch (which) {
    case BuiltinTemplate::kChatMl:
      return kChatMl;
    case BuiltinTemplate::kLlama2:
      return kLlama2;
    case BuiltinTemplate::kLlama3:
      return kLlama3;
  }
  return kChatMl;
}

ChatTemplate ChatTemplate::for_model(const Metadata& meta, const Tokenizer& tokenizer) {
  const std::string bos = token_or_empty(tokenizer, tokenizer.bos_id());
  const std::string eos = token_or_empty(tokenizer, tokenizer.eos_id());
  std::string source = meta.get_string("tokenizer.chat_template", "");
  if (source.empty()) {
    if (has_special(tokenizer, "<|im_start|>"))
      source = builtin_template_source(BuiltinTemplate::kChatMl);
    else if (has_special(tokenizer, "<|start_header_id|>"))
      source = builtin_template_source(BuiltinTemplate::kLlama3);
    else if (tokenizer.kind() == "SentencePiece BPE")
      source = builtin_template_source(BuiltinTemplate::kLlama2);
    else
      fail(
          "{}: the model has no chat template (tokenizer.chat_template) and its vocabulary fits "
          "none of the built-in ones (ChatML, Llama 2, Llama 3); run without --chat",
          meta.source());
  }
  return ChatTemplate(std::move(source), bos, eos);
}

}  // namespace kvscope
