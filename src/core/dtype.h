#pragma once
// The tensor storage types kvscope reads: their names, block sizes and byte sizes as GGML lays
// them out (a row of n elements is n / block_size blocks of block_bytes each).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kvscope {

enum class DType { kF32, kF16, kBF16, kQ8_0, kQ4_0, kQ4_1, kQ4_K, kQ6_K, kQ5_0, kQ5_1, kQ5_K };

struct DTypeInfo {
  std::string_view name;
  int block_size;    // elements per block
  int block_bytes;   // bytes per block
  uint32_t ggml_id;  // the type number in GGUF files
};

const DTypeInfo& dtype_info(DType type);
inline std::string_view dtype_name(DType type) { return dtype_info(type).name; }
std::optional<DType> dtype_from_ggml(uint32_t ggml_id);
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes taken by n elements; n must be a multiple of the block size.
size_t dtype_bytes(DType type, size_t n);

}  // namespace kvscope
