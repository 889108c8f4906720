#include "generate/chat.h"

namespace kvscope {

std::string chat_prompt(const Model& model, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  return ChatTemplate::for_model(model.file().meta, model.tokenizer())
      .render(messages, add_generation_prompt);
}

Chat::Chat(Session& session)
    : session_(session),
      template_(ChatTemplate::for_model(session.model().file().meta, session.model().tokenizer())),
      end_of_turn_(template_.end_of_turn(session.model().tokenizer())) {}

std::string Chat::render(bool add_generation_prompt) const {
  return template_.render(messages_, add_generation_prompt);
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
    tokens = tok.encode(full, true, false);  // the template writes the BOS text where it wants one
  }
  GenerateOptions stop_at_turn = options;
  for (const std::string& end : end_of_turn_) stop_at_turn.stop_strings.push_back(end);
  GenerationResult result = session_.generate({tokens}, stop_at_turn, on_token);
  messages_.push_back({"assistant", result.sequences[0].text});
  fed_ = full + result.sequences[0].text;
  return result;
}

}  // namespace kvscope
