#pragma once
// FNV-1a over the bytes of a float array: the hash behind every "bit-identical logits" check.
#include <cstddef>
#include <cstdint>

namespace kvscope {

inline constexpr uint64_t kFnvOffset = 14695981039346656037ull;

inline uint64_t fnv1a_floats(uint64_t hash, const float* values, size_t count) {
  const auto* p = reinterpret_cast<const unsigned char*>(values);
  for (size_t i = 0; i < count * sizeof(float); ++i) hash = (hash ^ p[i]) * 1099511628211ull;
  return hash;
}

}  // namespace kvscope
