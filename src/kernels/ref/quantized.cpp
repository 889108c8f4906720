#include "kernels/ref/quantized.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "core/half.h"
#include "kernels/packed.h"

namespace kvscope {

bool has_q8_dot(DType type) {
  return type == DType::kQ8_0 || type == DType::kQ4_0 || type == DType::kQ4_1;
}

namespace ref {
namespace {

float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// The integer dot product of one weight block with one block of activations, and the weight
// block's scale and offset: value = d * q + m.
struct BlockProduct {
  int32_t sum;
  float d;
  float m;
};

BlockProduct block_product(DType type, const uint8_t* block, const int8_t* x) {
  int32_t sum = 0;
  switch (type) {
    case DType::kQ8_0: {
      const auto* q = reinterpret_cast<const int8_t*>(block + 2);
      for (int j = 0; j < 32; ++j) sum += q[j] * x[j];
      return {sum, load_f16(block), 0.0f};
    }
    case DType::kQ4_0:
    case DType::kQ4_1: {
      const uint8_t* q = block + (type == DType::kQ4_0 ? 2 : 4);
      for (int j = 0; j < 16; ++j) sum += (q[j] & 0x0f) * x[j] + (q[j] >> 4) * x[j + 16];
      // Q4_0 stores q - 8: its offset is -8 d.
      const float d = load_f16(block);
      return {sum, d, type == DType::kQ4_0 ? -8.0f * d : load_f16(block + 2)};
    }
    default:
      return {0, 0.0f, 0.0f};
  }
}

// The block's scale: max|x| / limit, and its inverse (0 for an all-zero block).
std::pair<float, float> block_scale(const float* x, float limit) {
  float amax = 0.0f;
  for (int j = 0; j < kQ8Block; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float scale = amax / limit;
  return {scale, scale != 0.0f ? 1.0f / scale : 0.0f};
}

// A scaled activation rounded to the nearest T. A value that is not finite (a NaN from a broken
// weight upstream, or the infinite inverse scale of a block of denormals) becomes T's lowest, as
// the SIMD kernels' conversion then saturation make it, not undefined behaviour.
template <typename T>
T round_to(float v) {
  return std::isfinite(v) ? static_cast<T>(std::nearbyint(v)) : std::numeric_limits<T>::min();
}

}  // namespace

void quantize_row_q8_0(const float* x, uint8_t* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32, out += 34) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f, inverse = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t scale = f32_to_f16(d);
    std::memcpy(out, &scale, 2);
    for (int i = 0; i < 32; ++i)
      out[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::lround(x[i] * inverse)));
  }
}

void quantize_row_q16(const float* x, uint8_t* out, int64_t n) {
  auto* q = reinterpret_cast<int16_t*>(out);
  auto* d = reinterpret_cast<float*>(out + 2 * n);
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const auto [scale, inverse] = block_scale(x + b * kQ8Block, 32767.0f);
    for (int j = 0; j < kQ8Block; ++j)
      q[b * kQ8Block + j] = round_to<int16_t>(x[b * kQ8Block + j] * inverse);
    d[b] = scale;
  }
}

float dot_q8_0_q16(const uint8_t* weights, const uint8_t* q16_row, int64_t n) {
  const auto* x = reinterpret_cast<const int16_t*>(q16_row);
  const float* d = q16_scales(q16_row, n);
  float total = 0.0f;
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const uint8_t* block = weights + b * 34;
    const auto* q = reinterpret_cast<const int8_t*>(block + 2);
    int32_t sum = 0;
    for (int j = 0; j < kQ8Block; ++j) sum += q[j] * x[b * kQ8Block + j];
    total += load_f16(block) * d[b] * static_cast<float>(sum);
  }
  return total;
}

void quantize_row_q8(const float* x, uint8_t* out, int64_t n) {
  const auto [q, d, s, sums] = q8_row_parts(out, n);
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const float* xb = x + b * kQ8Block;
    const auto [scale, inverse] = block_scale(xb, 127.0f);
    int32_t sum = 0;
    for (int j = 0; j < kQ8Block; ++j) {
      const auto v = round_to<int8_t>(xb[j] * inverse);
      q[b * kQ8Block + j] = v;
      sum += v;
    }
    d[b] = scale;
    s[b] = scale * static_cast<float>(sum);
    sums[b] = sum;
  }
}

void dequantize_row_q8(const uint8_t* q8_row, float* out, int64_t n) {
  const auto* q = reinterpret_cast<const int8_t*>(q8_row);
  const float* d = q8_scales(q8_row, n);
  for (int64_t j = 0; j < n; ++j) out[j] = static_cast<float>(q[j]) * d[j / kQ8Block];
}

float dot_q8(DType type, const uint8_t* weights, const uint8_t* q8_row, int64_t n) {
  const int block_bytes = dtype_info(type).block_bytes;
  const auto* x = reinterpret_cast<const int8_t*>(q8_row);
  const float* d = q8_scales(q8_row, n);
  const float* s = q8_sums(q8_row, n);
  float total = 0.0f;
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const BlockProduct p = block_product(type, weights + b * block_bytes, x + b * kQ8Block);
    total += p.d * d[b] * static_cast<float>(p.sum) + p.m * s[b];
  }
  return total;
}

namespace {

void dot_packed_group(DType type, const uint8_t* group, int64_t n, const PackedActivations& x,
                      int nc, int nr, float* out, int64_t out_stride) {
  const PackedFormat f = packed_format(type);
  for (int c = 0; c < nc; ++c)
    for (int r = 0; r < nr; ++r) {
      float acc = 0.0f;
      for (int64_t b = 0; b < n / kQ8Block; ++b) {
        const uint8_t* block = group + f.block_at(n, b);
        float d, m;
        packed_row_scales(f, group, n, b, r, &d, &m);
        // Row r's block b times block b of the q8 row `row`.
        const auto add_product = [&](const uint8_t* row) {
          const auto* xb = reinterpret_cast<const int8_t*>(row) + b * kQ8Block;
          // Columns 0-15 and 16-31 summed apart: Q6_K weights them by its two 8-bit scales.
          int32_t halves[2] = {0, 0};
          for (int j = 0; j < 32; ++j)
            halves[j / 16] += packed_value(f, block + f.quants_at(), r, j) * xb[j];
          const int32_t sum =
              f.sub_scales ? static_cast<int8_t>(block[f.sub_scales_at() + r]) * halves[0] +
                                 static_cast<int8_t>(block[f.sub_scales_at() + 8 + r]) * halves[1]
                           : halves[0] + halves[1];
          acc = std::fma(static_cast<float>(sum), d * q8_scales(row, n)[b], acc);
          if (f.offset) acc = std::fma(m, q8_sums(row, n)[b], acc);
        };
        add_product(x.rows[c]);
        if (x.is_outlier(c, b)) add_product(x.errors[c]);
      }
      out[c * out_stride + r] = acc;
    }
}

}  // namespace

void dot_packed(DType type, const uint8_t* groups, int64_t n, const PackedActivations& x, int nc,
                int nr, float* out, int64_t out_stride) {
  for (int g = 0; g * kPackedRows < nr; ++g)
    dot_packed_group(type, groups + g * packed_group_bytes(type, n), n, x, nc,
                     std::min(kPackedRows, nr - g * kPackedRows), out + g * kPackedRows,
                     out_stride);
}

}  // namespace ref
}  // namespace kvscope
