#pragma once
// A small chart model (series, axes, title) and the one function that draws it, for PNG, SVG and
// the HTML report alike. The numbers in a Chart are the measured ones, in the units its axis
// labels name; builders convert (seconds to ms, bytes to MiB) before filling it.
#include <optional>
#include <string>
#include <vector>

#include "report/canvas.h"

namespace kvscope::report {

enum class ChartKind {
  kLines,           // series of (x, y) points
  kBars,            // one bar per category and series, grouped, vertical
  kHorizontalBars,  // the same, categories down the left side
};

struct Series {
  std::string name;
  std::vector<double> x;  // lines only; bars take one y per category
  std::vector<double> y;
  std::vector<double> low, high;    // lines: an optional min–max band around y
  std::vector<std::string> labels;  // bars: optional text at each bar's end (default: the value)
  std::vector<Colour> bar_colours;  // bars: optional colour of each bar (default: the series')
  bool right_axis = false;          // lines: measured against the second y axis
  bool dashed = false;
  bool markers = false;
  std::optional<Colour> colour;  // default: the palette, by position
};

struct Chart {
  std::string name;  // file stem: <name>.png, <name>.svg
  ChartKind kind = ChartKind::kLines;
  std::string title;
  std::string subtitle;  // what it ran on: model and CPU
  std::string x_label, y_label, y2_label;
  std::vector<std::string> categories;  // bars
  std::vector<Series> series;
  bool y_from_zero = true;

  int width() const { return 960; }
  int height() const;
};

// The i-th colour of the palette (matplotlib's tab10, so the charts read like seed 001's).
Colour palette_colour(size_t i);
// The colour of a cache strategy in every chart (none red, concat orange, prealloc blue, as
// seed 001's "no cache" and "KV cache"); other names get none.
std::optional<Colour> strategy_colour(const std::string& strategy);

void draw_chart(Canvas& canvas, const Chart& chart);

enum class ImageFormat { kPng, kSvg, kBoth };
ImageFormat parse_image_format(const std::string& name);  // Error on an unknown one

std::string chart_svg(const Chart& chart);
// Writes <dir>/<name>.png and/or .svg (creating dir); returns the paths written.
std::vector<std::string> write_chart(const Chart& chart, const std::string& dir,
                                     ImageFormat format);

// Tick positions covering [lo, hi] at a round step (1, 2 or 5 × 10^k), about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target);

}  // namespace kvscope::report
