#include "generate/chat.h"

namespace kvscope {

std::string chat_prompt(const Model& model, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  const std::string source = model.file().meta.get_string("tokenizer.chat_template", "");
  return apply_chat_template(detect_chat_style(source), messages, add_generation_prompt,
                             default_system_prompt(source));
}

Chat::Chat(Session& session) : session_(session) {
  const std::string source = session.model().file().meta.get_string("tokenizer.chat_template", "");
  style_ = detect_chat_style(source);
  default_system_ = default_system_prompt(source);
}

std::string Chat::render(bool add_generation_prompt) const {
  return apply_chat_template(style_, messages_, add_generation_prompt, default_system_);
}

void Chat::reset() {
  messages_.clear();
  fed_.clear();
  session_.reset(0);
}

GenerationResult Chat::say(const std::string& user, const GenerateOptions& options,
                           const TokenCallback& on_token) {
  messages_.push_back({"user", user});
  const std::string full = render(true);
  const Tokenizer& tok = session_.model().tokenizer();
  std::vector<int32_t> tokens;
  if (!fed_.empty() && full.compare(0, fed_.size(), fed_) == 0) {
    tokens = tok.encode(full.substr(fed_.size()), true, false);
  } else {
    // The template rewrote earlier text (some trim answers): start the sequence over.
    session_.reset(0);
    tokens = tok.encode(full, true, true);
  }
  GenerationResult result = session_.generate({tokens}, options, on_token);
  messages_.push_back({"assistant", result.sequences[0].text});
  fed_ = full + result.sequences[0].text;
  return result;
}

}  // namespace kvscope
