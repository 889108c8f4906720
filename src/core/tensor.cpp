#include "core/tensor.h"

#include <fmt/format.h>

namespace kvscope {

std::string shape_string(const TensorView& t) {
  std::string s = "[";
  for (int d = 0; d < t.n_dims; ++d) s += fmt::format("{}{}", d ? ", " : "", t.shape[d]);
  return s + "]";
}

}  // namespace kvscope
