#pragma once
// A multi-turn chat on sequence 0 of a Session, in the model's chat template. Each turn feeds
// only the text the conversation gained since the previous one, so the KV cache carries over.
#include <string>
#include <vector>

#include "generate/session.h"
#include "tokenizer/chat_template.h"

namespace kvscope {

// The prompt text of `messages` in the model's chat template (its own Jinja template, or a
// built-in one for files without); Error when it has none and fits no built-in one.
std::string chat_prompt(const Model& model, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt);

class Chat {
 public:
  // Error when the model has no chat template and fits no built-in one.
  explicit Chat(Session& session);

  // Adds the user's message, generates the assistant's answer and adds it too.
  GenerationResult say(const std::string& user, const GenerateOptions& options,
                       const TokenCallback& on_token = {});
  void reset();
  const std::vector<ChatMessage>& messages() const { return messages_; }

 private:
  std::string render(bool add_generation_prompt) const;

  Session& session_;
  ChatTemplate template_;
  std::vector<std::string> end_of_turn_;
  std::vector<ChatMessage> messages_;
  std::string fed_;  // the conversation's text as the sequence holds it
};

}  // namespace kvscope
