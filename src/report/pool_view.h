#pragma once
// `kvscope viz --pool`: the paged KV pool, one frame per engine step. Each block is a cell of a
// grid, filled with the colour of the request holding it (labelled with its number), marked in
// its corner when shared, grey when cached for reuse, light when free, outlined in red in the
// step that evicted it; a caption gives the step, the requests and the pool's counts, and names
// the requests preempted in the step.
#include <string>

#include "report/canvas.h"
#include "report/pool_capture.h"

namespace kvscope::report {

struct PoolViewSize {
  int width = 0, height = 0;
};
PoolViewSize pool_frame_size(const PoolCapture& capture);

void draw_pool_frame(Canvas& canvas, const PoolCapture& capture, int frame);

// An animated GIF: one frame per step.
void write_pool_gif(const std::string& path, const PoolCapture& capture);

// A self-contained page of every frame as SVG, stepped through with a slider and buttons.
std::string pool_page_html(const PoolCapture& capture);

}  // namespace kvscope::report
