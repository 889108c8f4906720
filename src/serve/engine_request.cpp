#include "serve/engine_request.h"

#include <fmt/format.h>

#include <optional>
#include <random>

#include "core/error.h"
#include "serve/api_error.h"
#include "tokenizer/chat_template.h"

namespace kvscope::serve {
namespace {

// The messages in the model's chat template (its own, or the built-in one its vocabulary fits).
ChatTemplate chat_template(const Model& model) {
  try {
    return ChatTemplate::for_model(model.file().meta, model.tokenizer());
  } catch (const Error& e) {
    throw ApiError(400,
                   fmt::format("this model has no chat template kvscope can apply: {}", e.what()),
                   "invalid_request_error", "messages");
  }
}

// `chat`: the template of a chat request, null for a completion.
std::vector<int32_t> prompt_tokens(const ApiRequest& api, const Model& model,
                                   const ChatTemplate* chat) {
  // The template writes the BOS text itself where the model wants one.
  if (chat != nullptr)
    return model.tokenizer().encode(chat->render(api.messages, true), true, false);
  if (api.prompt_ids.empty()) return model.tokenizer().encode(api.prompt, false, true);
  const int vocab = model.config().vocab_size;
  for (int32_t id : api.prompt_ids)
    if (id >= vocab)
      bad_field("prompt", fmt::format("token id {} is outside the vocabulary of {}", id, vocab));
  return api.prompt_ids;
}

}  // namespace

Request engine_request(const ApiRequest& api, const Model& model, int n_ctx) {
  Request r;
  std::optional<ChatTemplate> chat;
  try {
    if (api.endpoint == Endpoint::kChat) chat = chat_template(model);
    r.prompt = prompt_tokens(api, model, chat ? &*chat : nullptr);
  } catch (const Error& e) {  // text the tokenizer refuses
    bad_field(api.endpoint == Endpoint::kChat ? "messages" : "prompt", e.what());
  }
  const int prompt = static_cast<int>(r.prompt.size());
  const int max_tokens = api.max_tokens.value_or(
      api.endpoint == Endpoint::kChat ? std::max(n_ctx - prompt, 0) : kDefaultCompletionTokens);
  if (static_cast<int64_t>(prompt) + max_tokens > n_ctx || prompt >= n_ctx) {
    const char* what = api.endpoint == Endpoint::kChat ? "messages" : "prompt";
    throw ApiError(400,
                   fmt::format("This model's maximum context length is {} tokens. However, you "
                               "requested {} tokens ({} in the {}, {} for the completion). Please "
                               "reduce the length of the {} or completion.",
                               n_ctx, static_cast<int64_t>(prompt) + max_tokens, prompt, what,
                               max_tokens, what),
                   "invalid_request_error", what, "context_length_exceeded");
  }
  r.max_new_tokens = max_tokens;
  r.sampling = api.sampling;
  if (!api.seeded) r.sampling.seed = std::random_device{}();
  r.stop_strings = api.stop;
  // A chat answer ends where the template ends a turn (unless told to ignore its end).
  if (chat && !api.ignore_eos)
    for (const std::string& end : chat->end_of_turn(model.tokenizer()))
      r.stop_strings.push_back(end);
  r.stop_at_end_token = !api.ignore_eos;
  return r;
}

}  // namespace kvscope::serve
