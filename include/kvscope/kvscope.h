#pragma once
// kvscope's public API: load a model, open a Session with the KV cache strategy of your choice,
// generate (streamed through a per-token callback), and measure the result.
//
//   auto model = kvscope::Model::load("models/SmolLM2-135M-Instruct.Q4_1.gguf");
//   kvscope::Session session(*model, {.cache = kvscope::CacheStrategy::kPrealloc});
//   const auto prompt = model->tokenizer().encode("The capital of France is", false, true);
//   kvscope::GenerateOptions options;
//   options.max_new_tokens = 16;
//   const kvscope::GenerationResult result = session.generate({prompt}, options);
//   const kvscope::RequestMetrics metrics = kvscope::request_metrics(result.start,
//   result.sequences[0]);
//
// Errors in what it is given (files, prompts, options) are thrown as kvscope::Error with a
// one-line message naming the file or field.
#include "core/error.h"
#include "core/observer.h"
#include "engine/sampler.h"
#include "generate/session.h"
#include "kvcache/kv_cache.h"
#include "metrics/request_metrics.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"
