#include "report/canvas.h"

#include <cairo.h>
#include <fmt/format.h>
#include <fontconfig/fontconfig.h>

#include <memory>

#include "core/error.h"
#include "report/html.h"

namespace kvscope::report {
namespace {

constexpr const char* kFontFamily = "DejaVu Sans";

void select_font(cairo_t* cr, double size, bool bold) {
  cairo_select_font_face(cr, kFontFamily, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double measure(cairo_t* cr, std::string_view text, double size, bool bold) {
  select_font(cr, size, bold);
  const std::string owned(text);
  cairo_text_extents_t extents;
  cairo_text_extents(cr, owned.c_str(), &extents);
  return extents.x_advance;
}

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;

class CairoCanvas final : public Canvas {
 public:
  explicit CairoCanvas(cairo_t* cr) : cr_(cr) {}

  void polyline(std::span<const Point> points, Colour colour, double width, bool dashed) override {
    if (points.empty()) return;
    trace(points);
    set_colour(colour);
    cairo_set_line_width(cr_, width);
    cairo_set_line_join(cr_, CAIRO_LINE_JOIN_ROUND);
    const double dash[] = {6, 4};
    cairo_set_dash(cr_, dash, dashed ? 2 : 0, 0);
    cairo_stroke(cr_);
    cairo_set_dash(cr_, nullptr, 0, 0);
  }

  void polygon(std::span<const Point> points, Colour fill) override {
    if (points.empty()) return;
    trace(points);
    cairo_close_path(cr_);
    set_colour(fill);
    cairo_fill(cr_);
  }

  void rect(double x, double y, double width, double height, Colour fill) override {
    cairo_rectangle(cr_, x, y, width, height);
    set_colour(fill);
    cairo_fill(cr_);
  }

  void text(double x, double y, std::string_view text, const TextStyle& style) override {
    const double width = measure(cr_, text, style.size, style.bold);
    const double shift = style.anchor == Anchor::kStart    ? 0
                         : style.anchor == Anchor::kMiddle ? width / 2
                                                           : width;
    cairo_save(cr_);
    cairo_translate(cr_, x, y);
    cairo_rotate(cr_, -style.rotate_degrees * M_PI / 180);
    cairo_move_to(cr_, -shift, 0);
    set_colour(style.colour);
    const std::string owned(text);
    cairo_show_text(cr_, owned.c_str());
    cairo_restore(cr_);
  }

 private:
  void trace(std::span<const Point> points) {
    cairo_new_path(cr_);
    cairo_move_to(cr_, points[0].x, points[0].y);
    for (const Point& p : points.subspan(1)) cairo_line_to(cr_, p.x, p.y);
  }
  void set_colour(Colour c) { cairo_set_source_rgba(cr_, c.r, c.g, c.b, c.a); }

  cairo_t* cr_;
};

// `attribute` is fill or stroke.
std::string svg_paint(std::string_view attribute, Colour c) {
  return fmt::format("{0}=\"rgb({1},{2},{3})\"{4}", attribute, int(c.r * 255 + 0.5),
                     int(c.g * 255 + 0.5), int(c.b * 255 + 0.5),
                     c.a < 1 ? fmt::format(" {}-opacity=\"{:.3g}\"", attribute, c.a) : "");
}

std::string svg_points(std::span<const Point> points) {
  std::string out;
  for (const Point& p : points)
    out += fmt::format("{}{:.1f},{:.1f}", out.empty() ? "" : " ", p.x, p.y);
  return out;
}

class SvgCanvas final : public Canvas {
 public:
  void polyline(std::span<const Point> points, Colour colour, double width, bool dashed) override {
    body_ += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" {} stroke-width=\"{}\" "
        "stroke-linejoin=\"round\"{}/>\n",
        svg_points(points), svg_paint("stroke", colour), width,
        dashed ? " stroke-dasharray=\"6 4\"" : "");
  }

  void polygon(std::span<const Point> points, Colour fill) override {
    body_ +=
        fmt::format("<polygon points=\"{}\" {}/>\n", svg_points(points), svg_paint("fill", fill));
  }

  void rect(double x, double y, double width, double height, Colour fill) override {
    body_ +=
        fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" {}/>\n", x,
                    y, width, height, svg_paint("fill", fill));
  }

  void text(double x, double y, std::string_view text, const TextStyle& style) override {
    const char* anchor = style.anchor == Anchor::kStart    ? "start"
                         : style.anchor == Anchor::kMiddle ? "middle"
                                                           : "end";
    body_ += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" text-anchor=\"{}\"{}{} {}>{}</text>\n", x,
        y, style.size, anchor, style.bold ? " font-weight=\"bold\"" : "",
        style.rotate_degrees != 0
            ? fmt::format(" transform=\"rotate({} {:.1f} {:.1f})\"", -style.rotate_degrees, x, y)
            : "",
        svg_paint("fill", style.colour), html_escape(text));
  }

  const std::string& body() const { return body_; }

 private:
  std::string body_;
};

// Text metrics come from this scratch context (they do not depend on the target surface). It
// lives until exit and then takes Cairo's and fontconfig's caches with it, which are otherwise
// held until the process ends (and reported as leaks by the sanitizer build). Drawing on an
// image calls it first, so that this clean-up runs after the last image is gone.
cairo_t* font_context() {
  struct Scratch {
    Surface surface{cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1)};
    Context cr{cairo_create(surface.get())};
    ~Scratch() {
      cr.reset();
      surface.reset();
      cairo_debug_reset_static_data();
      FcFini();
    }
  };
  static Scratch scratch;
  return scratch.cr.get();
}

// Draws on a white ARGB image surface.
Surface render_image(int width, int height, const DrawFunction& draw) {
  font_context();
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  Context cr(cairo_create(surface.get()));
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  CairoCanvas canvas(cr.get());
  draw(canvas);
  cairo_surface_flush(surface.get());
  return surface;
}

}  // namespace

double text_width(std::string_view text, double size, bool bold) {
  return measure(font_context(), text, size, bold);
}

void outline(Canvas& canvas, double left, double top, double width, double height, Colour colour,
             double line_width) {
  const Point box[] = {{left, top},
                       {left + width, top},
                       {left + width, top + height},
                       {left, top + height},
                       {left, top}};
  canvas.polyline(box, colour, line_width, false);
}

std::string render_svg(int width, int height, const DrawFunction& draw) {
  SvgCanvas canvas;
  draw(canvas);
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" "
      "font-family=\"{2}, sans-serif\">\n<rect width=\"{0}\" height=\"{1}\" "
      "fill=\"white\"/>\n{3}</svg>\n",
      width, height, kFontFamily, canvas.body());
}

void write_png(const std::string& path, int width, int height, const DrawFunction& draw) {
  const Surface surface = render_image(width, height, draw);
  if (cairo_surface_write_to_png(surface.get(), path.c_str()) != CAIRO_STATUS_SUCCESS)
    fail("{}: cannot write the PNG", path);
}

std::vector<uint32_t> render_rgb(int width, int height, const DrawFunction& draw) {
  const Surface surface = render_image(width, height, draw);
  const unsigned char* data = cairo_image_surface_get_data(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  std::vector<uint32_t> pixels(static_cast<size_t>(width) * height);
  for (int y = 0; y < height; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + static_cast<size_t>(y) * stride);
    for (int x = 0; x < width; ++x) pixels[static_cast<size_t>(y) * width + x] = row[x] & 0xffffff;
  }
  return pixels;
}

}  // namespace kvscope::report
