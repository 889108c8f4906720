#pragma once
// SIMD kernels, each compiled for its instruction set in its own file and only called after
// dispatch.cpp has checked that the CPU supports it.
#include <cstdint>

namespace kvscope::avx2 {
float dot(const float* a, const float* b, int64_t n);
}  // namespace kvscope::avx2

namespace kvscope::avx512 {
float dot(const float* a, const float* b, int64_t n);
}  // namespace kvscope::avx512
