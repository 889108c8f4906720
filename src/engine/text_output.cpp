#include "engine/text_output.h"

#include <algorithm>
#include <optional>

namespace kvscope {
namespace {

// Where the earliest stop string starts in `text`, if one occurs.
std::optional<size_t> find_stop_string(const std::string& text,
                                       const std::vector<std::string>& stops) {
  std::optional<size_t> first;
  for (const std::string& s : stops) {
    const size_t at = s.empty() ? std::string::npos : text.find(s);
    if (at != std::string::npos && (!first || at < *first)) first = at;
  }
  return first;
}

// How much of `text` can be shown without showing the start of a stop string still being typed.
size_t safe_to_stream(const std::string& text, const std::vector<std::string>& stops) {
  size_t held = 0;
  for (const std::string& s : stops)
    for (size_t len = std::min(s.size() - 1, text.size()); len > held; --len)
      if (text.compare(text.size() - len, len, s, 0, len) == 0) {
        held = len;
        break;
      }
  return text.size() - held;
}

}  // namespace

bool TextOutput::push(int32_t token) {
  text_ += decoder_.push(token);
  if (auto cut = find_stop_string(text_, stops_)) {
    text_.resize(*cut);
    stopped_ = true;
  }
  return stopped_;
}

void TextOutput::finish() {
  if (!stopped_) text_ += decoder_.flush();
  finished_ = true;
}

std::string TextOutput::take_streamable() {
  const size_t shown = finished_ || stopped_ ? text_.size() : safe_to_stream(text_, stops_);
  if (shown <= streamed_) return {};
  std::string piece = text_.substr(streamed_, shown - streamed_);
  streamed_ = shown;
  return piece;
}

}  // namespace kvscope
