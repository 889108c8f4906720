#include "tokenizer/chat_template.h"

#include "core/error.h"

namespace kvscope {
namespace {

// Jinja's trim and Python's strip(), for ASCII whitespace.
std::string trim(const std::string& s) {
  constexpr const char* kWhitespace = " \t\n\r\v\f";
  const size_t begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(kWhitespace) - begin + 1);
}

// <|im_start|>role\ncontent<|im_end|>\n. SmolLM2's template writes its default system turn
// inside its loop over the messages, so not for an empty conversation.
std::string render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                          const std::string& default_system) {
  std::string out;
  if (!default_system.empty() && !messages.empty() && messages[0].role != "system")
    out += "<|im_start|>system\n" + default_system + "<|im_end|>\n";
  for (const ChatMessage& m : messages)
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

// <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>, contents trimmed. The BOS that
// the template starts with is left to the tokenizer.
std::string render_llama3(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages)
    out +=
        "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// [INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] answer </s><s>[INST] user [/INST]: every user
// turn opens with BOS; the first one is left to the tokenizer.
std::string render_llama2(const std::vector<ChatMessage>& messages) {
  std::string out, system;
  size_t first = 0;
  if (!messages.empty() && messages[0].role == "system") {
    system = messages[0].content;
    first = 1;
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "user") {
      std::string content = m.content;
      if (i == first && !system.empty())
        content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
      out += (i == first ? "" : "<s>") + std::string("[INST] ") + trim(content) + " [/INST]";
    } else if (m.role == "assistant") {
      out += " " + trim(m.content) + " </s>";
    } else {
      fail("the Llama 2 chat template has no place for a '{}' message after the first", m.role);
    }
  }
  return out;
}

}  // namespace

ChatStyle detect_chat_style(const std::string& source) {
  if (source.find("<|im_start|>") != std::string::npos) return ChatStyle::kChatMl;
  if (source.find("<|start_header_id|>") != std::string::npos) return ChatStyle::kLlama3;
  if (source.find("[INST]") != std::string::npos) return ChatStyle::kLlama2;
  if (source.empty())
    fail("the model has no chat template (tokenizer.chat_template); run without --chat");
  fail(
      "the model's chat template is of no known style (known: ChatML, Llama 2, Llama 3); run "
      "without --chat");
}

std::string default_system_prompt(const std::string& source) {
  // ChatML templates such as SmolLM2's write a system turn when the conversation has none.
  const std::string opening = "<|im_start|>system\n";
  const size_t at = source.find(opening);
  if (at == std::string::npos ||
      source.find("messages[0]['role'] != 'system'") == std::string::npos)
    return "";
  const size_t begin = at + opening.size();
  const size_t end = source.find("<|im_end|>", begin);
  if (end == std::string::npos) return "";
  const std::string text = source.substr(begin, end - begin);
  // A literal, not a Jinja expression such as {{ messages[0]['content'] }}.
  return text.find("{{") == std::string::npos && text.find('\'') == std::string::npos ? text : "";
}

std::string apply_chat_template(ChatStyle style, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt, const std::string& default_system) {
  switch (style) {
    case ChatStyle::kChatMl:
      return render_chatml(messages, add_generation_prompt, default_system);
    case ChatStyle::kLlama3:
      return render_llama3(messages, add_generation_prompt);
    case ChatStyle::kLlama2:
      return render_llama2(messages);
  }
  return "";
}

}  // namespace kvscope
