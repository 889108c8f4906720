#include "metrics/table.h"

#include <algorithm>

namespace kvscope {
namespace {

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string pad(const std::string& text, size_t width, bool right) {
  const size_t w = display_width(text);
  const std::string fill(width > w ? width - w : 0, ' ');
  return right ? fill + text : text + fill;
}

}  // namespace

size_t display_width(const std::string& text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const int len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
    for (int k = 1; k < len && i + k < text.size(); ++k) cp = (cp << 6) | (text[i + k] & 0x3f);
    i += len;
    if (cp == 0xfe0f || cp == 0x200d) continue;  // variation selector, joiner: no width
    const bool wide = (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                      (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                      (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                      (cp >= 0x1f300 && cp <= 0x1faff) || cp == 0x26a1 || cp == 0x23f1 ||
                      cp == 0x2705 || cp == 0x274c;
    width += wide ? 2 : 1;
  }
  return width;
}

std::string Table::render() const {
  std::vector<size_t> widths(headers_.size(), 0);
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = display_width(headers_[c]);
  for (const auto& row : rows_)
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c)
      widths[c] = std::max(widths[c], display_width(row[c]));
  size_t inner = 0;
  for (size_t w : widths) inner += w + 3;
  inner -= 1;
  std::string out;
  if (title_.empty()) {
    out += "╭" + repeat("─", inner) + "╮\n";
  } else {
    const std::string t = " " + title_ + " ";
    const size_t tw = display_width(t), left = inner > tw ? (inner - tw) / 2 : 0;
    out += "╭" + repeat("─", left) + t + repeat("─", inner > tw + left ? inner - tw - left : 0) +
           "╮\n";
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = "│";
    for (size_t c = 0; c < widths.size(); ++c)
      s += " " + pad(c < cells.size() ? cells[c] : "", widths[c], c > 0) + " │";
    return s + "\n";
  };
  out += line(headers_);
  std::string rule = "├";
  for (size_t c = 0; c < widths.size(); ++c)
    rule += repeat("─", widths[c] + 2) + (c + 1 < widths.size() ? "┼" : "┤");
  out += rule + "\n";
  for (const auto& row : rows_) out += line(row);
  std::string bottom = "╰";
  for (size_t c = 0; c < widths.size(); ++c)
    bottom += repeat("─", widths[c] + 2) + (c + 1 < widths.size() ? "┴" : "╯");
  return out + bottom + "\n";
}

}  // namespace kvscope
