#pragma once
// Errors at the edges (files, user input) are thrown as kvscope::Error with a message that names
// the file or field and what was expected; the command line prints it on one line and exits 1.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace kvscope {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace kvscope
