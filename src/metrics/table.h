#pragma once
// Box-drawn console tables, as in seed 000's performance summary.
#include <string>
#include <vector>

namespace kvscope {

class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::string title = "")
      : headers_(std::move(headers)), title_(std::move(title)) {}
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  // The first column is left-aligned, the others right-aligned (numbers).
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::string title_;
  std::vector<std::vector<std::string>> rows_;
};

// Display width of UTF-8 text in a terminal (wide characters such as emoji count 2).
size_t display_width(const std::string& text);

}  // namespace kvscope
