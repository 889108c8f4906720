#pragma once
// What the charts and the KV-cache frames draw on. One drawing path for every format: the
// drawing code calls these few primitives, and two backends turn them into pixels (Cairo, for
// PNG and GIF frames) or into SVG elements (with real <text>, so a chart's labels stay text).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvscope::report {

struct Colour {
  double r = 0, g = 0, b = 0, a = 1;
};

struct Point {
  double x = 0, y = 0;
};

enum class Anchor { kStart, kMiddle, kEnd };

struct TextStyle {
  double size = 12;
  Colour colour;
  Anchor anchor = Anchor::kStart;
  bool bold = false;
  double rotate_degrees = 0;  // counter-clockwise, around the anchor point
};

class Canvas {
 public:
  virtual ~Canvas() = default;
  virtual void polyline(std::span<const Point> points, Colour colour, double width,
                        bool dashed) = 0;
  virtual void polygon(std::span<const Point> points, Colour fill) = 0;
  virtual void rect(double x, double y, double width, double height, Colour fill) = 0;
  // y is the text's baseline.
  virtual void text(double x, double y, std::string_view text, const TextStyle& style) = 0;
};

// The border of a rectangle, drawn with polyline.
void outline(Canvas& canvas, double left, double top, double width, double height, Colour colour,
             double line_width);

// Width of `text` in the charts' font, as Cairo lays it out; both backends use it for layout.
double text_width(std::string_view text, double size, bool bold);

using DrawFunction = std::function<void(Canvas&)>;

// An SVG document of width × height holding what `draw` drew.
std::string render_svg(int width, int height, const DrawFunction& draw);
// A PNG file of width × height on a white background; Error when it cannot be written.
void write_png(const std::string& path, int width, int height, const DrawFunction& draw);
// Pixels as 0xRRGGBB, row by row, on a white background (for the GIF frames).
std::vector<uint32_t> render_rgb(int width, int height, const DrawFunction& draw);

}  // namespace kvscope::report
