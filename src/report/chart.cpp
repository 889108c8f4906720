#include "report/chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"

namespace kvscope::report {
namespace {

constexpr Colour kInk{0.13, 0.13, 0.13};
constexpr Colour kMuted{0.4, 0.4, 0.4};
constexpr Colour kGrid{0.88, 0.88, 0.88};

Colour hex(uint32_t rgb) {
  return {((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0, (rgb & 255) / 255.0};
}

Colour series_colour(const Chart& chart, size_t i) {
  return chart.series[i].colour.value_or(palette_colour(i));
}

Colour with_alpha(Colour c, double a) { return {c.r, c.g, c.b, a}; }

std::string format_tick(double value, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return fmt::format("{:.{}f}", std::abs(value) < step * 1e-9 ? 0.0 : value, decimals);
}

std::string format_value(double value) { return fmt::format("{:.3g}", value); }

// A value axis: the range the ticks cover, and the mapping onto pixels [from, to].
struct Scale {
  std::vector<double> ticks;
  double lo = 0, hi = 1, from = 0, to = 1;

  Scale(double min, double max, bool from_zero, double pixel_from, double pixel_to)
      : from(pixel_from), to(pixel_to) {
    if (from_zero) min = std::min(min, 0.0), max = std::max(max, 0.0);
    if (!(max > min)) max = min + 1;
    ticks = nice_ticks(min, max, 6);
    lo = ticks.front();
    hi = ticks.back();
  }
  double operator()(double v) const { return from + (v - lo) / (hi - lo) * (to - from); }
  double step() const { return ticks.size() > 1 ? ticks[1] - ticks[0] : 1; }
};

struct Frame {
  double left, top, right, bottom;
};

void draw_titles(Canvas& c, const Chart& chart) {
  c.text(chart.width() / 2.0, 28, chart.title,
         {.size = 18, .colour = kInk, .anchor = Anchor::kMiddle, .bold = true});
  c.text(chart.width() / 2.0, 50, chart.subtitle,
         {.size = 12, .colour = kMuted, .anchor = Anchor::kMiddle});
}

void draw_axis_labels(Canvas& c, const Chart& chart, const Frame& f) {
  c.text((f.left + f.right) / 2, chart.height() - 14, chart.x_label,
         {.size = 13, .colour = kInk, .anchor = Anchor::kMiddle});
  c.text(22, (f.top + f.bottom) / 2, chart.y_label,
         {.size = 13, .colour = kInk, .anchor = Anchor::kMiddle, .rotate_degrees = 90});
  if (!chart.y2_label.empty())
    c.text(chart.width() - 14, (f.top + f.bottom) / 2, chart.y2_label,
           {.size = 13, .colour = kInk, .anchor = Anchor::kMiddle, .rotate_degrees = -90});
}

void draw_value_ticks(Canvas& c, const Scale& s, const Frame& f, bool vertical, bool grid,
                      bool right_side) {
  for (double t : s.ticks) {
    const double p = s(t);
    if (vertical) {
      if (grid) {
        const Point line[] = {{f.left, p}, {f.right, p}};
        c.polyline(line, kGrid, 1, false);
      }
      c.text(right_side ? f.right + 6 : f.left - 6, p + 4, format_tick(t, s.step()),
             {.size = 11, .colour = kMuted, .anchor = right_side ? Anchor::kStart : Anchor::kEnd});
    } else {
      if (grid) {
        const Point line[] = {{p, f.top}, {p, f.bottom}};
        c.polyline(line, kGrid, 1, false);
      }
      c.text(p, f.bottom + 18, format_tick(t, s.step()),
             {.size = 11, .colour = kMuted, .anchor = Anchor::kMiddle});
    }
  }
}

void draw_frame_box(Canvas& c, const Frame& f) {
  const Point box[] = {
      {f.left, f.top}, {f.right, f.top}, {f.right, f.bottom}, {f.left, f.bottom}, {f.left, f.top}};
  c.polyline(box, kMuted, 1, false);
}

void draw_legend(Canvas& c, const Chart& chart, const Frame& f) {
  if (chart.series.size() < 2 && chart.kind != ChartKind::kLines) return;
  double widest = 0;
  for (const Series& s : chart.series) widest = std::max(widest, text_width(s.name, 12, false));
  const double row = 18, width = widest + 44, height = row * chart.series.size() + 8;
  const double x = f.left + 10, y = f.top + 10;
  c.rect(x, y, width, height, {1, 1, 1, 0.85});
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const double cy = y + 4 + row * i + row / 2;
    const Point swatch[] = {{x + 8, cy}, {x + 30, cy}};
    c.polyline(swatch, series_colour(chart, i), chart.kind == ChartKind::kLines ? 2.5 : 8,
               chart.series[i].dashed);
    c.text(x + 36, cy + 4, chart.series[i].name, {.size = 12, .colour = kInk});
  }
}

void draw_lines(Canvas& c, const Chart& chart) {
  const bool has_y2 = std::any_of(chart.series.begin(), chart.series.end(),
                                  [](const Series& s) { return s.right_axis; });
  const Frame f{80, 70, chart.width() - (has_y2 ? 80.0 : 30.0), chart.height() - 60.0};
  double x_min = std::numeric_limits<double>::max(), x_max = std::numeric_limits<double>::lowest();
  double y_min[2] = {x_min, x_min}, y_max[2] = {x_max, x_max};
  for (const Series& s : chart.series) {
    for (double x : s.x) x_min = std::min(x_min, x), x_max = std::max(x_max, x);
    for (const auto* values : {&s.y, &s.low, &s.high})
      for (double v : *values)
        y_min[s.right_axis] = std::min(y_min[s.right_axis], v),
        y_max[s.right_axis] = std::max(y_max[s.right_axis], v);
  }
  if (x_min > x_max) x_min = 0, x_max = 1;
  for (int axis = 0; axis < 2; ++axis)
    if (y_min[axis] > y_max[axis]) y_min[axis] = 0, y_max[axis] = 1;
  const Scale xs(x_min, x_max, false, f.left, f.right);
  const Scale ys(y_min[0], y_max[0], chart.y_from_zero, f.bottom, f.top);
  const Scale y2s(y_min[1], y_max[1], chart.y_from_zero, f.bottom, f.top);
  draw_value_ticks(c, ys, f, true, true, false);
  if (has_y2) draw_value_ticks(c, y2s, f, true, false, true);
  draw_value_ticks(c, xs, f, false, false, false);
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    const Scale& y = s.right_axis ? y2s : ys;
    const Colour colour = series_colour(chart, i);
    if (!s.low.empty() && s.low.size() == s.x.size() && s.high.size() == s.x.size()) {
      std::vector<Point> band;
      for (size_t k = 0; k < s.x.size(); ++k) band.push_back({xs(s.x[k]), y(s.high[k])});
      for (size_t k = s.x.size(); k-- > 0;) band.push_back({xs(s.x[k]), y(s.low[k])});
      c.polygon(band, with_alpha(colour, 0.18));
    }
    std::vector<Point> points;
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k)
      points.push_back({xs(s.x[k]), y(s.y[k])});
    c.polyline(points, colour, 2, s.dashed);
    if (s.markers)
      for (const Point& p : points) c.rect(p.x - 3, p.y - 3, 6, 6, colour);
  }
  draw_frame_box(c, f);
  draw_legend(c, chart, f);
  draw_axis_labels(c, chart, f);
}

double largest_value(const Chart& chart) {
  double largest = 0;
  for (const Series& s : chart.series)
    for (double v : s.y) largest = std::max(largest, v);
  return largest;
}

std::string bar_label(const Series& s, size_t k) {
  return k < s.labels.size() ? s.labels[k] : format_value(s.y[k]);
}

Colour bar_colour(const Chart& chart, size_t i, size_t k) {
  const Series& s = chart.series[i];
  return k < s.bar_colours.size() ? s.bar_colours[k] : series_colour(chart, i);
}

void draw_vertical_bars(Canvas& c, const Chart& chart) {
  const Frame f{80, 70, chart.width() - 30.0, chart.height() - 60.0};
  // Head room above the tallest bar for its label.
  const Scale ys(0, largest_value(chart) * 1.12, true, f.bottom, f.top);
  draw_value_ticks(c, ys, f, true, true, false);
  const size_t n = std::max<size_t>(1, chart.categories.size());
  const double group = (f.right - f.left) / n,
               bar = group * 0.7 / std::max<size_t>(1, chart.series.size());
  for (size_t k = 0; k < chart.categories.size(); ++k) {
    const double group_left = f.left + group * k + group * 0.15;
    c.text(f.left + group * (k + 0.5), f.bottom + 18, chart.categories[k],
           {.size = 12, .colour = kInk, .anchor = Anchor::kMiddle});
    for (size_t i = 0; i < chart.series.size(); ++i) {
      const Series& s = chart.series[i];
      if (k >= s.y.size()) continue;
      const double x = group_left + bar * i, top = ys(s.y[k]);
      c.rect(x + 1, top, bar - 2, f.bottom - top, bar_colour(chart, i, k));
      c.text(x + bar / 2, top - 6, bar_label(s, k),
             {.size = 11, .colour = kInk, .anchor = Anchor::kMiddle});
    }
  }
  draw_frame_box(c, f);
  draw_legend(c, chart, f);
  draw_axis_labels(c, chart, f);
}

void draw_horizontal_bars(Canvas& c, const Chart& chart) {
  double widest = 0;
  for (const std::string& name : chart.categories)
    widest = std::max(widest, text_width(name, 12, false));
  const Frame f{std::max(80.0, widest + 40), 70, chart.width() - 30.0, chart.height() - 60.0};
  // Room right of the longest bar for its label.
  const Scale xs(0, largest_value(chart) * 1.2, true, f.left, f.right);
  draw_value_ticks(c, xs, f, false, true, false);
  const size_t n = std::max<size_t>(1, chart.categories.size());
  const double group = (f.bottom - f.top) / n,
               bar = group * 0.8 / std::max<size_t>(1, chart.series.size());
  for (size_t k = 0; k < chart.categories.size(); ++k) {
    const double group_top = f.top + group * k + group * 0.1;
    c.text(f.left - 8, f.top + group * (k + 0.5) + 4, chart.categories[k],
           {.size = 12, .colour = kInk, .anchor = Anchor::kEnd});
    for (size_t i = 0; i < chart.series.size(); ++i) {
      const Series& s = chart.series[i];
      if (k >= s.y.size()) continue;
      const double y = group_top + bar * i, end = xs(s.y[k]);
      c.rect(f.left, y + 1, end - f.left, bar - 2, bar_colour(chart, i, k));
      c.text(end + 5, y + bar / 2 + 4, bar_label(s, k), {.size = 11, .colour = kInk});
    }
  }
  draw_frame_box(c, f);
  if (chart.series.size() > 1) {
    // The legend goes bottom right, clear of the bars, which start on the left.
    Frame corner = f;
    double widest_name = 0;
    for (const Series& s : chart.series)
      widest_name = std::max(widest_name, text_width(s.name, 12, false));
    corner.left = f.right - widest_name - 64;
    corner.top = f.bottom - 18.0 * chart.series.size() - 28;
    draw_legend(c, chart, corner);
  }
  draw_axis_labels(c, chart, f);
}

}  // namespace

int Chart::height() const {
  if (kind != ChartKind::kHorizontalBars) return 540;
  const int bars = static_cast<int>(categories.size() * std::max<size_t>(1, series.size()));
  return std::max(400, 150 + bars * 16 + static_cast<int>(categories.size()) * 6);
}

Colour palette_colour(size_t i) {
  static const uint32_t colours[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  return hex(colours[i % std::size(colours)]);
}

std::optional<Colour> strategy_colour(const std::string& strategy) {
  if (strategy == "none") return hex(0xd62728);
  if (strategy == "concat") return hex(0xff7f0e);
  if (strategy == "prealloc") return hex(0x1f77b4);
  if (strategy == "paged") return hex(0x2ca02c);
  return std::nullopt;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  const double raw = (hi - lo) / std::max(1, target - 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  const double first = std::floor(lo / step) * step;
  std::vector<double> ticks;
  // Multiplying, not adding up steps, so that ticks stay round numbers.
  for (int i = 0; first + i * step < hi + step * 0.999; ++i) ticks.push_back(first + i * step);
  if (ticks.size() < 2) ticks.push_back(first + step);
  return ticks;
}

void draw_chart(Canvas& canvas, const Chart& chart) {
  draw_titles(canvas, chart);
  switch (chart.kind) {
    case ChartKind::kLines:
      draw_lines(canvas, chart);
      break;
    case ChartKind::kBars:
      draw_vertical_bars(canvas, chart);
      break;
    case ChartKind::kHorizontalBars:
      draw_horizontal_bars(canvas, chart);
      break;
  }
}

ImageFormat parse_image_format(const std::string& name) {
  if (name == "png") return ImageFormat::kPng;
  if (name == "svg") return ImageFormat::kSvg;
  if (name == "both") return ImageFormat::kBoth;
  fail("unknown image format '{}' (png, svg or both)", name);
}

std::string chart_svg(const Chart& chart) {
  return render_svg(chart.width(), chart.height(), [&](Canvas& c) { draw_chart(c, chart); });
}

std::vector<std::string> write_chart(const Chart& chart, const std::string& dir,
                                     ImageFormat format) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) fail("{}: cannot create the folder ({})", dir, error.message());
  std::vector<std::string> written;
  const std::string stem = (std::filesystem::path(dir) / chart.name).string();
  if (format != ImageFormat::kSvg) {
    write_png(stem + ".png", chart.width(), chart.height(),
              [&](Canvas& c) { draw_chart(c, chart); });
    written.push_back(stem + ".png");
  }
  if (format != ImageFormat::kPng) {
    std::ofstream out(stem + ".svg");
    if (!(out << chart_svg(chart))) fail("{}.svg: cannot write", stem);
    written.push_back(stem + ".svg");
  }
  return written;
}

}  // namespace kvscope::report
