#include "report/kv_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "report/gif_writer.h"
#include "report/html.h"

namespace kvscope::report {
namespace {

constexpr Colour kInk{0.13, 0.13, 0.13};
constexpr Colour kMuted{0.45, 0.45, 0.45};
constexpr Colour kEmpty{0.95, 0.95, 0.95};
constexpr Colour kBar{0.58, 0.40, 0.74};

// Where everything goes; the page's script draws with the same numbers.
struct Layout {
  int label_width = 140, cell_width = 0, row_height = 0, heat_width = 0;
  int query_top = 96, heat_top = 168, key_left = 0, value_left = 0, bars_left = 0, bars_width = 220;
  int width = 0, height = 0;
};

Layout layout(const KvCapture& c) {
  Layout l;
  l.cell_width = std::max(2, 256 / c.head_dim);
  l.heat_width = l.cell_width * c.head_dim;
  l.row_height = std::clamp(520 / std::max(1, c.positions), 2, 14);
  l.key_left = l.label_width;
  l.value_left = l.key_left + l.heat_width + 30;
  l.bars_left = l.value_left + l.heat_width + 30;
  l.width = l.bars_left + l.bars_width + 60;
  l.height = l.heat_top + c.positions * l.row_height + 30;
  return l;
}

// Blue (negative) through white to red (positive), in 16 steps a side so a GIF palette holds them.
Colour diverging(double t) {
  t = std::round(std::clamp(t, -1.0, 1.0) * 16) / 16;
  const Colour end = t < 0 ? Colour{0.23, 0.30, 0.75} : Colour{0.71, 0.02, 0.15};
  const double a = std::abs(t), white = 0.97;
  return {white + (end.r - white) * a, white + (end.g - white) * a, white + (end.b - white) * a};
}

// The colour scale's end: the 98th percentile of |value|, so that one outlier (a few dimensions
// of keys and queries are) does not wash everything else out; larger values saturate.
float colour_scale(const std::vector<std::span<const float>>& rows) {
  std::vector<float> magnitudes;
  for (std::span<const float> row : rows)
    for (float v : row) magnitudes.push_back(std::abs(v));
  if (magnitudes.empty()) return 1;
  const auto at = magnitudes.begin() + static_cast<ptrdiff_t>(0.98 * (magnitudes.size() - 1));
  std::nth_element(magnitudes.begin(), at, magnitudes.end());
  return std::max(*at, 1e-12f);
}

// The scales are fixed over the whole animation, so colours compare from frame to frame.
struct Scales {
  float query = 1, key = 1, value = 1;
};

Scales scales(const KvCapture& c, int layer, int head) {
  std::vector<std::span<const float>> queries, keys, values;
  for (int f = 0; f < c.frames; ++f) queries.push_back(c.query(layer, head, f));
  for (int p = 0; p < c.positions; ++p) {
    keys.push_back(c.key(layer, head, p));
    values.push_back(c.value(layer, head, p));
  }
  return {colour_scale(queries), colour_scale(keys), colour_scale(values)};
}

void heat_row(Canvas& canvas, double left, double top, double cell, double height,
              std::span<const float> row, float scale) {
  for (size_t i = 0; i < row.size(); ++i)
    canvas.rect(left + cell * i, top, cell, height, diverging(row[i] / scale));
}

void check_choice(const KvCapture& c, int layer, int head) {
  if (layer < 0 || layer >= c.n_layers)
    fail("--layer {} is out of range: the model has {} layers (0 to {})", layer, c.n_layers,
         c.n_layers - 1);
  if (head < 0 || head >= c.n_heads)
    fail("--head {} is out of range: the model has {} query heads (0 to {})", head, c.n_heads,
         c.n_heads - 1);
}

// Numbers for the page, three significant digits (what a heatmap can show).
std::string number_array(std::span<const float> values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i)
    out += fmt::format("{}{:.3g}", i == 0 ? "" : ",", values[i]);
  return out + "]";
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"' || ch == '\\')
      out += fmt::format("\\{}", ch);
    else if (static_cast<unsigned char>(ch) < 0x20)
      out += fmt::format("\\u{:04x}", ch);
    else if (ch == '<')
      out += "\\u003c";  // never closes the script element
    else
      out += ch;
  }
  return out + "\"";
}

std::string layer_json(const KvCapture& c, int layer) {
  std::string scores = "[";
  for (int h = 0; h < c.n_heads; ++h) {
    scores += h == 0 ? "[" : ",[";
    for (int f = 0; f < c.frames; ++f)
      scores += (f == 0 ? "" : ",") + number_array(attention_scores(c, layer, h, f));
    scores += "]";
  }
  return fmt::format("{{\"q\":{},\"k\":{},\"v\":{},\"scores\":{}]}}",
                     number_array(c.queries[layer]), number_array(c.keys[layer]),
                     number_array(c.values[layer]), scores);
}

constexpr const char* kPageScript = R"(
const $ = (id) => document.getElementById(id);
const layerChoice = $('layer'), headChoice = $('head'), slider = $('frame'), canvas = $('view');
const L = D.layout, ctx = canvas.getContext('2d');
canvas.width = L.width; canvas.height = L.height;
Object.keys(D.layers).forEach((l) => layerChoice.add(new Option('layer ' + l, l)));
const kvHead = (h) => Math.floor(h / (D.n_heads / D.n_kv_heads));
for (let h = 0; h < D.n_heads; h++) headChoice.add(new Option('head ' + h + ' (KV head ' + kvHead(h) + ')', h));
layerChoice.value = D.layer; headChoice.value = D.head; slider.max = D.frames - 1; slider.value = 0;
function colour(t) {
  t = Math.round(Math.max(-1, Math.min(1, t)) * 16) / 16;
  const end = t < 0 ? [59, 77, 191] : [181, 5, 38], a = Math.abs(t);
  return 'rgb(' + end.map((e) => Math.round(247 + (e - 247) * a)).join(',') + ')';
}
const slice = (a, start, n) => a.slice(start, start + n);
// As the GIF: the 98th percentile of |value| ends the colour scale.
function largest(rows) {
  const m = rows.flat().map(Math.abs).sort((a, b) => a - b);
  return Math.max(m[Math.floor(0.98 * (m.length - 1))] || 1, 1e-12);
}
function draw() {
  const data = D.layers[layerChoice.value], h = +headChoice.value, f = +slider.value, hd = D.head_dim;
  const p = D.prompt_tokens - 1 + f, kh = kvHead(h);
  const query = (fr) => slice(data.q, (fr * D.n_heads + h) * hd, hd);
  const key = (pos) => slice(data.k, (pos * D.n_kv_heads + kh) * hd, hd);
  const value = (pos) => slice(data.v, (pos * D.n_kv_heads + kh) * hd, hd);
  const positions = [...Array(D.positions).keys()], frames = [...Array(D.frames).keys()];
  const sq = largest(frames.map(query)), sk = largest(positions.map(key)), sv = largest(positions.map(value));
  ctx.fillStyle = 'white'; ctx.fillRect(0, 0, L.width, L.height);
  ctx.fillStyle = '#222'; ctx.font = '13px DejaVu Sans, sans-serif';
  ctx.fillText('query (position ' + p + ')', L.key_left, L.query_top - 8);
  query(f).forEach((x, i) => { ctx.fillStyle = colour(x / sq); ctx.fillRect(L.key_left + i * L.cell_width, L.query_top, L.cell_width, 20); });
  ctx.fillStyle = '#222';
  ctx.fillText('keys (cache)', L.key_left, L.heat_top - 8);
  ctx.fillText('values (cache)', L.value_left, L.heat_top - 8);
  ctx.fillText('attention softmax(q·k/√d)', L.bars_left, L.heat_top - 8);
  const scores = data.scores[h][f], rh = L.row_height;
  positions.forEach((pos) => {
    const top = L.heat_top + pos * rh;
    [[L.key_left, key(pos), sk], [L.value_left, value(pos), sv]].forEach(([left, row, s]) => {
      row.forEach((x, i) => { ctx.fillStyle = pos <= p ? colour(x / s) : '#f2f2f2'; ctx.fillRect(left + i * L.cell_width, top, L.cell_width, rh); });
    });
    if (pos <= p) { ctx.fillStyle = 'rgb(148,102,189)'; ctx.fillRect(L.bars_left, top + 1, scores[pos] * L.bars_width, Math.max(1, rh - 2)); }
    if (rh >= 8) {
      ctx.fillStyle = pos <= p ? '#222' : '#999'; ctx.textAlign = 'right';
      ctx.font = (pos === p ? 'bold ' : '') + Math.min(11, rh - 1) + 'px DejaVu Sans, sans-serif';
      ctx.fillText(D.labels[pos], L.key_left - 6, top + rh - 2); ctx.textAlign = 'left';
      if (pos <= p && scores[pos] >= 0.05) ctx.fillText(scores[pos].toFixed(2), L.bars_left + scores[pos] * L.bars_width + 4, top + rh - 2);
    }
  });
  ctx.strokeStyle = '#222'; ctx.lineWidth = 1.5;
  [L.key_left, L.value_left].forEach((left) => ctx.strokeRect(left, L.heat_top + p * rh, L.heat_width, rh));
  $('caption').textContent = 'token ' + (f + 1) + ' of ' + D.frames + ': "' + D.labels[p] + '" → "' + D.labels[p + 1] + '"';
}
[layerChoice, headChoice, slider].forEach((e) => e.addEventListener('input', draw));
$('prev').onclick = () => { slider.value = Math.max(0, +slider.value - 1); draw(); };
$('next').onclick = () => { slider.value = Math.min(D.frames - 1, +slider.value + 1); draw(); };
let timer = null;
$('play').onclick = () => {
  if (timer) { clearInterval(timer); timer = null; return; }
  timer = setInterval(() => { slider.value = (+slider.value + 1) % D.frames; draw(); }, 500);
};
draw();
)";

}  // namespace

KvViewSize kv_frame_size(const KvCapture& capture) {
  const Layout l = layout(capture);
  return {l.width, l.height};
}

void draw_kv_frame(Canvas& canvas, const KvCapture& c, int layer, int head, int frame) {
  const Layout l = layout(c);
  const Scales s = scales(c, layer, head);
  const int p = c.query_position(frame);
  canvas.text(l.width / 2.0, 28,
              fmt::format("KV cache, layer {}, head {} (KV head {}): token {} of {}", layer, head,
                          c.kv_head(head), frame + 1, c.frames),
              {.size = 18, .colour = kInk, .anchor = Anchor::kMiddle, .bold = true});
  canvas.text(l.width / 2.0, 52,
              fmt::format("{}: \"{}\" at position {} → generates \"{}\"", c.model_name, c.labels[p],
                          p, c.labels[p + 1]),
              {.size = 13, .colour = kMuted, .anchor = Anchor::kMiddle});
  canvas.text(l.key_left, l.query_top - 8,
              fmt::format("query (position {}, 1 × {})", p, c.head_dim),
              {.size = 13, .colour = kInk});
  heat_row(canvas, l.key_left, l.query_top, l.cell_width, 20, c.query(layer, head, frame), s.query);
  canvas.text(l.key_left, l.heat_top - 8, "keys (cache)", {.size = 13, .colour = kInk});
  canvas.text(l.value_left, l.heat_top - 8, "values (cache)", {.size = 13, .colour = kInk});
  canvas.text(l.bars_left, l.heat_top - 8, "attention softmax(q·k/√d)",
              {.size = 13, .colour = kInk});
  const std::vector<float> scores = attention_scores(c, layer, head, frame);
  const double rh = l.row_height;
  for (int pos = 0; pos < c.positions; ++pos) {
    const double top = l.heat_top + pos * rh;
    if (pos <= p) {
      heat_row(canvas, l.key_left, top, l.cell_width, rh, c.key(layer, head, pos), s.key);
      heat_row(canvas, l.value_left, top, l.cell_width, rh, c.value(layer, head, pos), s.value);
      canvas.rect(l.bars_left, top + 1, scores[pos] * l.bars_width, std::max(1.0, rh - 2), kBar);
    } else {
      canvas.rect(l.key_left, top, l.heat_width, rh, kEmpty);
      canvas.rect(l.value_left, top, l.heat_width, rh, kEmpty);
    }
    if (rh >= 8) {
      const double size = std::min(11.0, rh - 1);
      canvas.text(l.key_left - 6, top + rh - 2, c.labels[pos],
                  {.size = size,
                   .colour = pos <= p ? kInk : kMuted,
                   .anchor = Anchor::kEnd,
                   .bold = pos == p});
      if (pos <= p && scores[pos] >= 0.05)
        canvas.text(l.bars_left + scores[pos] * l.bars_width + 4, top + rh - 2,
                    fmt::format("{:.2f}", scores[pos]), {.size = size, .colour = kInk});
    }
  }
  outline(canvas, l.key_left, l.heat_top + p * rh, l.heat_width, rh, kInk, 1.5);
  outline(canvas, l.value_left, l.heat_top + p * rh, l.heat_width, rh, kInk, 1.5);
}

void write_kv_gif(const std::string& path, const KvCapture& capture, int layer, int head) {
  check_choice(capture, layer, head);
  const KvViewSize size = kv_frame_size(capture);
  std::vector<std::vector<uint32_t>> frames;
  for (int f = 0; f < capture.frames; ++f)
    frames.push_back(render_rgb(size.width, size.height,
                                [&](Canvas& c) { draw_kv_frame(c, capture, layer, head, f); }));
  write_gif(path, size.width, size.height, frames, 50);
}

size_t kv_page_values(const KvCapture& c, bool all_layers) {
  const size_t per_layer = c.queries[0].size() + c.keys[0].size() + c.values[0].size() +
                           static_cast<size_t>(c.n_heads) * c.frames * (c.positions + 1);
  return per_layer * (all_layers ? c.n_layers : 1);
}

std::string kv_page_html(const KvCapture& c, int layer, int head) {
  check_choice(c, layer, head);
  const bool all_layers = kv_page_values(c, true) <= kMaxEmbeddedValues;
  std::string layers;
  for (int l = 0; l < c.n_layers; ++l)
    if (all_layers || l == layer)
      layers += fmt::format("{}\"{}\":{}", layers.empty() ? "" : ",", l, layer_json(c, l));
  std::string labels;
  for (const std::string& label : c.labels)
    labels += (labels.empty() ? "" : ",") + json_string(label);
  const Layout l = layout(c);
  const std::string data = fmt::format(
      "{{\"model\":{},\"n_heads\":{},\"n_kv_heads\":{},\"head_dim\":{},\"prompt_tokens\":{},"
      "\"frames\":{},\"positions\":{},"
      "\"layer\":{},\"head\":{},\"labels\":[{}],\"layers\":{{{}}},\"layout\":{{\"width\":{},"
      "\"height\":{},\"cell_width\":{},"
      "\"row_height\":{},\"heat_width\":{},\"query_top\":{},\"heat_top\":{},\"key_left\":{},"
      "\"value_left\":{},\"bars_left\":{},"
      "\"bars_width\":{}}}}}",
      json_string(c.model_name), c.n_heads, c.n_kv_heads, c.head_dim, c.prompt_tokens, c.frames,
      c.positions, layer, head, labels, layers, l.width, l.height, l.cell_width, l.row_height,
      l.heat_width, l.query_top, l.heat_top, l.key_left, l.value_left, l.bars_left, l.bars_width);
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>kvscope: KV "
      "cache of {0}</title>\n"
      "<style>body {{ font-family: 'DejaVu Sans', sans-serif; margin: 1.5em; color: #222; }} "
      "#controls {{ margin: 0.8em 0; display: flex; gap: 0.6em; align-items: center; flex-wrap: "
      "wrap; }} "
      "#frame {{ width: 22em; }} canvas {{ border: 1px solid #ddd; }}</style>\n</head>\n<body>\n"
      "<h1>KV cache of {0}</h1>\n<p>Each step's query (after RoPE) against the keys in the cache, "
      "the attention it "
      "gives each past token, and the values it reads. {1}</p>\n"
      "<div id=\"controls\"><select id=\"layer\"></select><select id=\"head\"></select>"
      "<button id=\"prev\">◀</button><input type=\"range\" id=\"frame\" min=\"0\" "
      "step=\"1\"><button id=\"next\">▶</button>"
      "<button id=\"play\">play / pause</button><span id=\"caption\"></span></div>\n<canvas "
      "id=\"view\"></canvas>\n"
      "<script>\nconst D = {2};\n{3}</script>\n</body>\n</html>\n",
      html_escape(c.model_name),
      all_layers
          ? "Every layer is embedded."
          : fmt::format("Only layer {} is embedded (all its heads): every layer would not fit.",
                        layer),
      data, kPageScript);
}

}  // namespace kvscope::report
