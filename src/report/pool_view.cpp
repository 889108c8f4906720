#include "report/pool_view.h"

#include <fmt/format.h>

#include <algorithm>

#include "report/gif_writer.h"
#include "report/html.h"

namespace kvscope::report {
namespace {

constexpr Colour kInk{0.13, 0.13, 0.13};
constexpr Colour kFree{0.95, 0.95, 0.95};
constexpr Colour kCached{0.62, 0.62, 0.62};
constexpr Colour kEvicted{0.85, 0.05, 0.10};
constexpr Colour kWhite{1, 1, 1};
// One colour per request, repeating after twelve.
constexpr Colour kRequestColours[] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17},
                                      {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76},
                                      {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81}, {0.68, 0.78, 0.91},
                                      {1.00, 0.73, 0.47}, {0.60, 0.87, 0.54}, {0.77, 0.69, 0.84}};

Colour request_colour(int request) { return kRequestColours[request % std::size(kRequestColours)]; }

constexpr int kCell = 30, kGap = 4, kLeft = 20, kGridTop = 90, kLegendRow = 22;

int columns(const PoolCapture& c) { return std::min(c.blocks, 16); }
int grid_rows(const PoolCapture& c) { return (c.blocks + columns(c) - 1) / columns(c); }
int legend_top(const PoolCapture& c) { return kGridTop + grid_rows(c) * (kCell + kGap) + 16; }
// Request swatches six to a row, then one row for the block states.
int legend_rows(const PoolCapture& c) { return (c.requests + 5) / 6 + 1; }

std::string request_name(int request) { return fmt::format("r{}", request); }

void draw_block(Canvas& canvas, const PoolFrame& f, int b, double x, double y) {
  const BlockState& block = f.blocks[b];
  const Colour fill = f.owner[b] >= 0 ? request_colour(f.owner[b]) : block.cached ? kCached : kFree;
  canvas.rect(x, y, kCell, kCell, fill);
  if (f.owner[b] >= 0)
    canvas.text(x + kCell / 2.0, y + kCell / 2.0 + 4, request_name(f.owner[b]),
                {.size = 10, .colour = kWhite, .anchor = Anchor::kMiddle, .bold = true});
  if (block.refs > 1) {  // a shared prefix: a dark corner
    const Point corner[] = {{x + kCell - 11, y}, {x + kCell, y}, {x + kCell, y + 11}};
    canvas.polygon(corner, kInk);
  }
  if (f.evicted[b]) outline(canvas, x - 1.5, y - 1.5, kCell + 3, kCell + 3, kEvicted, 3);
}

void draw_legend(Canvas& canvas, const PoolCapture& c, const PoolFrame& f) {
  const TextStyle label{.size = 11, .colour = kInk};
  for (int r = 0; r < c.requests; ++r) {
    const double x = kLeft + (r % 6) * 110, y = legend_top(c) + (r / 6) * kLegendRow;
    canvas.rect(x, y, 14, 14, request_colour(r));
    const bool preempted =
        std::find(f.preempted.begin(), f.preempted.end(), r) != f.preempted.end();
    canvas.text(x + 20, y + 11, request_name(r) + (preempted ? " preempted" : ""),
                {.size = 11, .colour = preempted ? kEvicted : kInk, .bold = preempted});
  }
  const double y = legend_top(c) + (legend_rows(c) - 1) * kLegendRow;
  canvas.rect(kLeft, y, 14, 14, kFree);
  canvas.text(kLeft + 20, y + 11, "free", label);
  canvas.rect(kLeft + 110, y, 14, 14, kCached);
  canvas.text(kLeft + 130, y + 11, "cached (reusable)", label);
  canvas.rect(kLeft + 260, y, 14, 14, request_colour(0));
  const Point corner[] = {{kLeft + 268.0, y}, {kLeft + 274.0, y}, {kLeft + 274.0, y + 6}};
  canvas.polygon(corner, kInk);
  canvas.text(kLeft + 280, y + 11, "shared prefix", label);
  outline(canvas, kLeft + 390, y, 14, 14, kEvicted, 3);
  canvas.text(kLeft + 410, y + 11, "evicted in this step", label);
}

}  // namespace

PoolViewSize pool_frame_size(const PoolCapture& c) {
  return {std::max(kLeft * 2 + columns(c) * (kCell + kGap), 640),
          legend_top(c) + legend_rows(c) * kLegendRow + 10};
}

void draw_pool_frame(Canvas& canvas, const PoolCapture& c, int frame) {
  const PoolFrame& f = c.frames.at(static_cast<size_t>(frame));
  canvas.text(kLeft, 26,
              fmt::format("KV block pool of {}: {} blocks of {} positions", c.model_name, c.blocks,
                          c.block_size),
              {.size = 15, .colour = kInk, .bold = true});
  canvas.text(kLeft, 50,
              fmt::format("step {} of {} · running {}, waiting {} · blocks used {}, cached {}, "
                          "of {} · prefix hits {} tokens · evictions {}",
                          f.step, c.frames.size(), f.running, f.waiting, f.stats.blocks_used,
                          f.stats.blocks_cached, f.stats.blocks_total, f.stats.prefix_hit_tokens,
                          f.stats.evictions),
              {.size = 12, .colour = kInk});
  std::string preempted;
  for (int r : f.preempted) preempted += " " + request_name(r);
  if (!preempted.empty())
    canvas.text(kLeft, 72, "preempted in this step:" + preempted,
                {.size = 12, .colour = kEvicted, .bold = true});
  for (int b = 0; b < c.blocks; ++b)
    draw_block(canvas, f, b, kLeft + (b % columns(c)) * (kCell + kGap),
               kGridTop + (b / columns(c)) * (kCell + kGap));
  draw_legend(canvas, c, f);
}

void write_pool_gif(const std::string& path, const PoolCapture& capture) {
  const PoolViewSize size = pool_frame_size(capture);
  std::vector<std::vector<uint32_t>> frames;
  for (size_t f = 0; f < capture.frames.size(); ++f)
    frames.push_back(render_rgb(size.width, size.height, [&](Canvas& c) {
      draw_pool_frame(c, capture, static_cast<int>(f));
    }));
  write_gif(path, size.width, size.height, frames, 40);
}

std::string pool_page_html(const PoolCapture& c) {
  const PoolViewSize size = pool_frame_size(c);
  std::string frames;
  for (size_t f = 0; f < c.frames.size(); ++f)
    frames += fmt::format("<div class=\"frame\"{}>{}</div>\n", f == 0 ? "" : " hidden",
                          render_svg(size.width, size.height, [&](Canvas& canvas) {
                            draw_pool_frame(canvas, c, static_cast<int>(f));
                          }));
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>kvscope: KV "
      "block pool of {0}</title>\n"
      "<style>body {{ font-family: 'DejaVu Sans', sans-serif; margin: 1.5em; color: #222; }} "
      "#controls {{ margin: 0.8em 0; display: flex; gap: 0.6em; align-items: center; }} "
      "#step {{ width: 22em; }}</style>\n</head>\n<body>\n"
      "<h1>KV block pool of {0}</h1>\n<p>The paged pool after each engine step of {1} requests "
      "arriving over time: each block in the colour of the request holding it, shared prefix "
      "blocks marked in their corner, cached blocks grey, evicted ones outlined in red.</p>\n"
      "<div id=\"controls\"><button id=\"prev\">◀</button><input type=\"range\" id=\"step\" "
      "min=\"0\" max=\"{2}\" value=\"0\"><button id=\"next\">▶</button>"
      "<button id=\"play\">play / pause</button></div>\n{3}"
      "<script>\nconst frames = document.querySelectorAll('.frame'), slider = "
      "document.getElementById('step');\n"
      "function show(f) {{ slider.value = f; frames.forEach((e, i) => {{ e.hidden = i !== f; }}); "
      "}}\n"
      "slider.oninput = () => show(+slider.value);\n"
      "document.getElementById('prev').onclick = () => show(Math.max(0, +slider.value - 1));\n"
      "document.getElementById('next').onclick = () => show(Math.min(frames.length - 1, "
      "+slider.value + 1));\n"
      "let timer = null;\ndocument.getElementById('play').onclick = () => {{ if (timer) {{ "
      "clearInterval(timer); timer = null; }} else timer = setInterval(() => show((+slider.value "
      "+ 1) % frames.length), 400); }};\n"
      "</script>\n</body>\n</html>\n",
      html_escape(c.model_name), c.requests, c.frames.size() - 1, frames);
}

}  // namespace kvscope::report
