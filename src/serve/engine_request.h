#pragma once
// An API request as the engine takes it: the prompt tokenized (chat messages through the model's
// chat template), max_tokens defaulted as OpenAI does (16 for completions, the rest of the
// context for chat) and checked against the context, sampling and stops carried over.
#include "engine/request.h"
#include "models/model.h"
#include "serve/api_request.h"

namespace kvscope::serve {

// ApiError 400 for a prompt the model cannot take (bad token ids, no chat template) and
// context_length_exceeded when prompt and max_tokens exceed n_ctx.
Request engine_request(const ApiRequest& api, const Model& model, int n_ctx);

inline constexpr int kDefaultCompletionTokens = 16;

}  // namespace kvscope::serve
