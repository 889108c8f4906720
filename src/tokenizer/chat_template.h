#pragma once
// Chat templates: the model's own Jinja template (tokenizer.chat_template), rendered by minja
// (third_party/minja) with the variables transformers' apply_chat_template passes. Files without
// one get a built-in ChatML, Llama 2 or Llama 3 template, chosen by their vocabulary.
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "formats/metadata.h"
#include "tokenizer/tokenizer.h"

namespace minja {
class TemplateNode;
}

namespace kvscope {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class BuiltinTemplate { kChatMl, kLlama2, kLlama3 };

// The Jinja source of a built-in template (as the families' tokenizer_config.json have them).
const std::string& builtin_template_source(BuiltinTemplate which);

class ChatTemplate {
 public:
  // bos_token and eos_token are the texts the template sees ("" leaves the variable undefined,
  // as transformers does for a tokenizer without the token). Error, with the line and column,
  // when the source does not parse.
  ChatTemplate(std::string source, std::string bos_token, std::string eos_token);

  // The model's template, else the built-in one its vocabulary fits: ChatML where it has
  // <|im_start|>, Llama 3 where it has <|start_header_id|>, Llama 2 for SentencePiece ones.
  // Error when none fits.
  static ChatTemplate for_model(const Metadata& meta, const Tokenizer& tokenizer);

  // The prompt text, with the BOS text where the template writes one: encode it with special
  // tokens parsed and without add_bos. `extra` adds string variables (such as date_string).
  // Error with the template's message when it raises one.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const std::map<std::string, std::string>& extra = {}) const;

  // The special tokens' texts that end an assistant's turn in this template (such as
  // "<|im_end|>"): what it writes right after an answer. Empty when it writes none.
  std::vector<std::string> end_of_turn(const Tokenizer& tokenizer) const;

  const std::string& source() const { return source_; }
  // strftime_now tells this time from now on, not the clock's (for reproducible renders).
  void fix_time(std::time_t time) { fixed_time_ = time; }

 private:
  std::string source_, bos_, eos_;
  std::time_t fixed_time_ = -1;
  std::shared_ptr<minja::TemplateNode> root_;
};

}  // namespace kvscope
