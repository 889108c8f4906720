#include "kernels/ref/bf16.h"

#include <cmath>
#include <initializer_list>
#include <limits>

#include "core/half.h"

namespace kvscope::ref {

namespace {

float flush_subnormal(float v) {
  return std::fabs(v) < std::numeric_limits<float>::min() ? std::copysign(0.0f, v) : v;
}

}  // namespace

void round_row_bf16(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = float_to_bits(flush_subnormal(x[i]));
    if (std::isnan(x[i])) {
      out[i] = static_cast<uint16_t>((bits >> 16) | 0x40);  // quiet, whatever its payload
      continue;
    }
    out[i] = static_cast<uint16_t>((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
  }
}

void dot_bf16_tile(const uint16_t* const* weights, int nr, const uint16_t* const* x, int nc,
                   int64_t n, float* out, int64_t out_stride) {
  for (int c = 0; c < nc; ++c)
    for (int r = 0; r < nr; ++r) {
      float lanes[16] = {};
      for (int64_t i = 0; i < n; i += kBf16Chunk)
        for (int j = 0; j < 16; ++j)
          for (int64_t k : {i + 2 * j + 1, i + 2 * j}) {
            const float w = flush_subnormal(bf16_to_f32(weights[r][k]));
            lanes[j] = flush_subnormal(std::fma(w, bf16_to_f32(x[c][k]), lanes[j]));
          }
      for (int width = 8; width >= 1; width /= 2)
        for (int j = 0; j < width; ++j) lanes[j] += lanes[j + width];
      out[c * out_stride + r] = lanes[0];
    }
}

}  // namespace kvscope::ref
