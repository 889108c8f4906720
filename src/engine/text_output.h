#pragma once
// A request's text as its tokens arrive: whole UTF-8 characters only, cut before the first stop
// string, and streamed without ever showing the start of a stop string still being typed.
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kvscope {

class TextOutput {
 public:
  TextOutput(const Tokenizer& tokenizer, std::vector<std::string> stop_strings)
      : decoder_(tokenizer), stops_(std::move(stop_strings)) {}

  // Adds a token's text; true when a stop string has appeared (the text now ends before it).
  bool push(int32_t token);
  // The request is over: the decoder's last bytes join the text, unless a stop string cut it.
  void finish();
  // The text not yet handed out that may be shown now (all of it once finished).
  std::string take_streamable();
  const std::string& text() const { return text_; }

 private:
  StreamDecoder decoder_;
  std::vector<std::string> stops_;
  std::string text_;
  size_t streamed_ = 0;
  bool stopped_ = false, finished_ = false;
};

}  // namespace kvscope
