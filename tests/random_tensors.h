#pragma once
// Random but valid tensor data for kernel tests: random bytes with every scale field set to a
// finite, moderate f16 value, so dequantized values are finite.
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"

namespace kvscope::testing {

inline std::vector<float> random_floats(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline std::vector<uint8_t> random_row_bytes(DType type, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  const DTypeInfo& info = dtype_info(type);
  std::vector<uint8_t> bytes(dtype_bytes(type, static_cast<size_t>(n)));
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(byte(rng));
  auto put_f16 = [&](size_t offset, float v) {
    const uint16_t h = f32_to_f16(v);
    bytes[offset] = static_cast<uint8_t>(h & 0xff);
    bytes[offset + 1] = static_cast<uint8_t>(h >> 8);
  };
  std::normal_distribution<float> value(0.0f, 1.0f);
  const size_t blocks = static_cast<size_t>(n / info.block_size);
  for (size_t b = 0; b < blocks; ++b) {
    const size_t base = b * info.block_bytes;
    switch (type) {
      case DType::kF32: {
        const float v = value(rng);
        std::memcpy(&bytes[base], &v, 4);
        break;
      }
      case DType::kF16:
        put_f16(base, value(rng));
        break;
      case DType::kBF16: {
        const uint32_t bits = float_to_bits(value(rng));
        bytes[base] = static_cast<uint8_t>((bits >> 16) & 0xff);
        bytes[base + 1] = static_cast<uint8_t>(bits >> 24);
        break;
      }
      case DType::kQ8_0:
      case DType::kQ4_0:
      case DType::kQ5_0:
        put_f16(base, scale(rng));
        break;
      case DType::kQ4_1:
      case DType::kQ5_1:
      case DType::kQ4_K:
      case DType::kQ5_K:
        put_f16(base, scale(rng));
        put_f16(base + 2, scale(rng));
        break;
      case DType::kQ6_K:
        put_f16(base + 208, scale(rng) * 0.1f);
        break;
    }
  }
  return bytes;
}

inline const DType kAllTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,
                                  DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                  DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

}  // namespace kvscope::testing
