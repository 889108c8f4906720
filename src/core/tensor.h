#pragma once
// A view of a tensor stored elsewhere (usually in a memory-mapped file). Dimensions follow GGML:
// shape[0] is the innermost (contiguous) one, so a weight matrix of `rows` outputs and `cols`
// inputs has shape {cols, rows}.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace kvscope {

struct TensorView {
  std::string name;
  DType type = DType::kF32;
  int n_dims = 0;
  std::array<int64_t, 4> shape = {1, 1, 1, 1};
  const uint8_t* data = nullptr;
  // The same matrix repacked for the fast path's kernels (kernels/packed.h), or null.
  const uint8_t* packed = nullptr;

  int64_t elements() const { return shape[0] * shape[1] * shape[2] * shape[3]; }
  int64_t cols() const { return shape[0]; }
  int64_t rows() const { return elements() / shape[0]; }
  size_t row_bytes() const { return dtype_bytes(type, static_cast<size_t>(shape[0])); }
  size_t bytes() const { return row_bytes() * static_cast<size_t>(rows()); }
  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes(); }
};

std::string shape_string(const TensorView& t);

}  // namespace kvscope
