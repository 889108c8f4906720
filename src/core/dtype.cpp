#include "core/dtype.h"

#include <array>
#include <cassert>

namespace kvscope {
namespace {

constexpr std::array<DTypeInfo, 11> kInfos = {{
    {"F32", 1, 4, 0},
    {"F16", 1, 2, 1},
    {"BF16", 1, 2, 30},
    {"Q8_0", 32, 34, 8},
    {"Q4_0", 32, 18, 2},
    {"Q4_1", 32, 20, 3},
    {"Q4_K", 256, 144, 12},
    {"Q6_K", 256, 210, 14},
    {"Q5_0", 32, 22, 6},
    {"Q5_1", 32, 24, 7},
    {"Q5_K", 256, 176, 13},
}};

}  // namespace

const DTypeInfo& dtype_info(DType type) { return kInfos[static_cast<size_t>(type)]; }

std::optional<DType> dtype_from_ggml(uint32_t ggml_id) {
  for (size_t i = 0; i < kInfos.size(); ++i)
    if (kInfos[i].ggml_id == ggml_id) return static_cast<DType>(i);
  return std::nullopt;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (size_t i = 0; i < kInfos.size(); ++i)
    if (kInfos[i].name == name) return static_cast<DType>(i);
  return std::nullopt;
}

size_t dtype_bytes(DType type, size_t n) {
  const DTypeInfo& info = dtype_info(type);
  assert(n % info.block_size == 0);
  return n / info.block_size * info.block_bytes;
}

}  // namespace kvscope
