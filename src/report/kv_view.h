#pragma once
// `kvscope viz`: seed 001's KV-cache dashboard for one layer and head, one frame per generated
// token: the query (a 1 × head_dim strip), the key cache and the value cache as heatmaps
// (positions × head_dim) labelled with the tokens, and the attention scores over past tokens.
#include <string>

#include "report/canvas.h"
#include "report/kv_capture.h"

namespace kvscope::report {

struct KvViewSize {
  int width = 0, height = 0;
};
KvViewSize kv_frame_size(const KvCapture& capture);

void draw_kv_frame(Canvas& canvas, const KvCapture& capture, int layer, int head, int frame);

// An animated GIF: one frame per generated token.
void write_kv_gif(const std::string& path, const KvCapture& capture, int layer, int head);

// Values a page would embed for every layer; above kMaxEmbeddedValues it embeds only `layer`.
inline constexpr size_t kMaxEmbeddedValues = 1'500'000;
size_t kv_page_values(const KvCapture& capture, bool all_layers);
// A self-contained page stepping through the tokens (slider, buttons), choosing layer and head.
std::string kv_page_html(const KvCapture& capture, int layer, int head);

}  // namespace kvscope::report
