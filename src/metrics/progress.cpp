#include "metrics/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace kvscope {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) != 0) {}

ProgressBar::~ProgressBar() {
  if (enabled_) fmt::print(stderr, "\r\033[K");
}

void ProgressBar::update(int done, int total, const std::string& what) {
  if (!enabled_ || total <= 0) return;
  constexpr int kWidth = 30;
  const int filled = done * kWidth / total;
  fmt::print(stderr, "\r\033[K{} [{}{}] {}/{} {}", label_,
             std::string(static_cast<size_t>(filled), '#'),
             std::string(static_cast<size_t>(kWidth - filled), '.'), done, total, what);
  std::fflush(stderr);
}

}  // namespace kvscope
