#include "tokenizer/chat_template.h"

#include <chrono>
#include <ctime>
#include <iomanip>
#include <minja/minja.hpp>
#include <sstream>

#include "core/error.h"

namespace kvscope {
namespace {

// transformers renders with Jinja's trim_blocks and lstrip_blocks.
const minja::Options kOptions{/*trim_blocks=*/true, /*lstrip_blocks=*/true,
                              /*keep_trailing_newline=*/false};

// transformers' strftime_now: the local time (`fixed` unless -1), formatted as Python's strftime.
minja::Value strftime_now(std::time_t fixed) {
  return minja::Value::callable(
      [fixed](const std::shared_ptr<minja::Context>&, minja::ArgumentsValue& args) {
        args.expectArgs("strftime_now", {1, 1}, {0, 0});
        const std::time_t now =
            fixed != -1 ? fixed
                        : std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
        std::tm local{};
        localtime_r(&now, &local);
        std::ostringstream out;
        out << std::put_time(&local, args.args[0].get<std::string>().c_str());
        return minja::Value(out.str());
      });
}

}  // namespace

ChatTemplate::ChatTemplate(std::string source, std::string bos_token, std::string eos_token)
    : source_(std::move(source)), bos_(std::move(bos_token)), eos_(std::move(eos_token)) {
  try {
    root_ = minja::Parser::parse(source_, kOptions);
  } catch (const std::exception& e) {
    fail("the chat template does not parse: {}", e.what());
  }
}

// The variables of transformers' apply_chat_template: messages, tools and documents (None),
// add_generation_prompt, the special tokens, raise_exception and strftime_now.
std::string ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt,
                                 const std::map<std::string, std::string>& extra) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  nlohmann::ordered_json vars = {{"messages", list},
                                 {"tools", nullptr},
                                 {"documents", nullptr},
                                 {"add_generation_prompt", add_generation_prompt}};
  if (!bos_.empty()) vars["bos_token"] = bos_;
  if (!eos_.empty()) vars["eos_token"] = eos_;
  for (const auto& [name, value] : extra) vars[name] = value;
  auto context = minja::Context::make(minja::Value(vars));
  context->set("strftime_now", strftime_now(fixed_time_));
  try {
    return root_->render(context);
  } catch (const std::exception& e) {
    fail("the chat template failed: {}", e.what());
  }
}

// Renders a short exchange and reads the special token that follows the answer.
std::vector<std::string> ChatTemplate::end_of_turn(const Tokenizer& tokenizer) const {
  const std::string answer = "kvscope";
  std::string text;
  try {
    text = render({{"user", "Hi"}, {"assistant", answer}}, false);
  } catch (const Error&) {
    return {};  // a template that refuses this exchange says nothing about its turns
  }
  const size_t at = text.rfind(answer);
  if (at == std::string::npos) return {};
  for (int32_t id : tokenizer.encode(text.substr(at + answer.size()), true, false))
    if (tokenizer.is_special(id)) return {tokenizer.token_text(id)};
  return {};
}

}  // namespace kvscope
