#pragma once
// What the KV-cache view shows, captured from a real greedy generation with an f32 prealloc
// cache: every layer's query heads for each generated token (through the Observer), and the
// keys and values the cache holds at the end. Frame f is the step that produced generated
// token f: the query of position prompt_tokens − 1 + f against the keys of positions up to it.
#include <span>
#include <string>
#include <vector>

#include "models/model.h"

namespace kvscope::report {

struct KvCapture {
  std::string model_name;
  int n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int prompt_tokens = 0;
  int frames = 0;                                // generated tokens
  int positions = 0;                             // rows in the cache: prompt_tokens + frames − 1
  std::vector<int32_t> ids;                      // prompt and generated tokens
  std::vector<std::string> labels;               // each id's text, printable
  std::vector<std::vector<float>> queries;       // [layer][frame][n_heads × head_dim]
  std::vector<std::vector<float>> keys, values;  // [layer][position][n_kv_heads × head_dim]

  int query_position(int frame) const { return prompt_tokens - 1 + frame; }
  // The KV head a query head reads (grouped-query attention).
  int kv_head(int head) const { return head / (n_heads / n_kv_heads); }
  std::span<const float> query(int layer, int head, int frame) const;
  std::span<const float> key(int layer, int head, int position) const;  // of head's KV head
  std::span<const float> value(int layer, int head, int position) const;
};

// Runs the model greedily for exactly new_tokens after `prompt`, recording as it goes.
KvCapture capture_kv(const Model& model, const std::vector<int32_t>& prompt, int new_tokens,
                     int threads);

// softmax(q · k / sqrt(head_dim)) over positions 0..query_position(frame), recomputed from the
// captured query and the cached keys.
std::vector<float> attention_scores(const KvCapture& capture, int layer, int head, int frame);

}  // namespace kvscope::report
