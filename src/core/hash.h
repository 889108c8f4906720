#pragma once
// FNV-1a over bytes and float arrays: the hash behind every "bit-identical logits" check.
#include <cstddef>
#include <cstdint>

namespace kvscope {

inline constexpr uint64_t kFnvOffset = 14695981039346656037ull;

inline uint64_t fnv1a(uint64_t hash, const void* bytes, size_t count) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  for (size_t i = 0; i < count; ++i) hash = (hash ^ p[i]) * 1099511628211ull;
  return hash;
}

inline uint64_t fnv1a_floats(uint64_t hash, const float* values, size_t count) {
  return fnv1a(hash, values, count * sizeof(float));
}

}  // namespace kvscope
