#pragma once
// Chat templates, recognized from the model's `tokenizer.chat_template` (a Jinja source that
// kvscope does not execute): ChatML (SmolLM2, Qwen), Llama 2 ([INST]) and Llama 3 (header ids).
#include <string>
#include <vector>

namespace kvscope {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class ChatStyle { kChatMl, kLlama2, kLlama3 };

// Errors when the template is empty or of no known style.
ChatStyle detect_chat_style(const std::string& template_source);
// The default system prompt the template inserts when the conversation has none ("" if none).
std::string default_system_prompt(const std::string& template_source);

// The prompt text for `messages`, ending with the opening of the assistant's turn when
// add_generation_prompt is set. Special markers are left as text, to be parsed by encode().
std::string apply_chat_template(ChatStyle style, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt, const std::string& default_system = "");

}  // namespace kvscope
