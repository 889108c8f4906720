#pragma once
// A progress bar on stderr for long work; silent when stderr is not a terminal.
#include <string>

namespace kvscope {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();  // clears the bar
  void update(int done, int total, const std::string& what = "");

 private:
  std::string label_;
  bool enabled_;
};

}  // namespace kvscope
