#include "kernels/ref/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/half.h"
#include "kernels/ref/dequantize.h"

namespace kvscope::ref {

float dot(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void dot_tile(DType weight_type, const void* const* weights, int nr, const float* const* x, int nc,
              int64_t n, float* out, int64_t out_stride) {
  for (int c = 0; c < nc; ++c)
    for (int r = 0; r < nr; ++r) {
      float sum = 0.0f;
      for (int64_t i = 0; i < n; ++i) {
        const float w =
            weight_type == DType::kF16    ? f16_to_f32(static_cast<const uint16_t*>(weights[r])[i])
            : weight_type == DType::kBF16 ? bf16_to_f32(static_cast<const uint16_t*>(weights[r])[i])
                                          : static_cast<const float*>(weights[r])[i];
        sum += w * x[c][i];
      }
      out[c * out_stride + r] = sum;
    }
}

void axpy(float* y, float a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void widen_f16(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(sum / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void layer_norm(const float* x, const float* weight, const float* bias, float* out, int64_t n,
                float eps) {
  float mean = 0.0f;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<float>(n);
  float var = 0.0f;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float scale = 1.0f / std::sqrt(var / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = (x[i] - mean) * scale * weight[i] + bias[i];
}

void softmax(float* x, int64_t n, float scale) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max = std::fmax(max, x[i] *= scale);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void score_rows(DType type, const uint8_t* const* keys, int64_t count, const float* queries,
                int group, int64_t n, float* out, int64_t out_stride) {
  std::vector<float> key(static_cast<size_t>(n));
  for (int64_t j = 0; j < count; ++j) {
    dequantize_row(type, keys[j], key.data(), n);
    for (int g = 0; g < group; ++g) out[g * out_stride + j] = dot(queries + g * n, key.data(), n);
  }
}

void transpose_keys(DType type, const uint8_t* const* keys, int64_t count, int64_t n, float* out,
                    int64_t out_stride) {
  std::vector<float> key(static_cast<size_t>(n));
  for (int64_t j = 0; j < count; ++j) {
    dequantize_row(type, keys[j], key.data(), n);
    for (int64_t i = 0; i < n; ++i) out[i * out_stride + j] = key[i];
  }
}

void score_transposed(const float* keys_t, int64_t stride, int64_t count, const float* queries,
                      int group, int64_t n, float* out, int64_t out_stride) {
  for (int g = 0; g < group; ++g)
    for (int64_t j = 0; j < count; ++j) {
      float sum = 0.0f;  // dot's order
      for (int64_t i = 0; i < n; ++i) sum += queries[g * n + i] * keys_t[i * stride + j];
      out[g * out_stride + j] = sum;
    }
}

void weighted_rows(DType type, const uint8_t* const* rows, int64_t count, const float* weights,
                   int64_t weight_stride, int group, int64_t n, float* out, int64_t out_stride) {
  std::vector<float> row(static_cast<size_t>(n));
  for (int g = 0; g < group; ++g) std::fill_n(out + g * out_stride, n, 0.0f);
  for (int64_t j = 0; j < count; ++j) {
    dequantize_row(type, rows[j], row.data(), n);
    for (int g = 0; g < group; ++g)
      axpy(out + g * out_stride, weights[g * weight_stride + j], row.data(), n);
  }
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void gelu_tanh(float* x, int64_t n) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
  }
}

void rope_angles(int rope_dims, float position, float base, const float* freq_factors, float mscale,
                 float* cos_sin) {
  for (int i = 0; i < rope_dims / 2; ++i) {
    // Angles in double so that long positions keep their precision, as transformers does.
    const double freq = std::pow(static_cast<double>(base), -2.0 * i / rope_dims) /
                        (freq_factors != nullptr ? freq_factors[i] : 1.0);
    const double angle = position * freq;
    cos_sin[2 * i] = static_cast<float>(std::cos(angle)) * mscale;
    cos_sin[2 * i + 1] = static_cast<float>(std::sin(angle)) * mscale;
  }
}

void rope_turn(float* x, int n_heads, int head_dim, int rope_dims, bool neox,
               const float* cos_sin) {
  const int half = rope_dims / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* head = x + h * head_dim;
    for (int i = 0; i < half; ++i) {
      const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
      const int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
      const float x0 = head[a], x1 = head[b];
      head[a] = x0 * c - x1 * s;
      head[b] = x0 * s + x1 * c;
    }
  }
}

void rope(float* x, int n_heads, int head_dim, int rope_dims, float position, float base, bool neox,
          const float* freq_factors, float mscale) {
  std::vector<float> cos_sin(static_cast<size_t>(rope_dims));
  rope_angles(rope_dims, position, base, freq_factors, mscale, cos_sin.data());
  rope_turn(x, n_heads, head_dim, rope_dims, neox, cos_sin.data());
}

void hadamard(float* x, int64_t n, int block) {
  const float norm = 1.0f / std::sqrt(static_cast<float>(block));
  for (float* run = x; run < x + n; run += block) {
    for (int half = 1; half < block; half *= 2)  // butterflies of growing span
      for (int i = 0; i < block; i += 2 * half)
        for (int j = i; j < i + half; ++j) {
          const float a = run[j], b = run[j + half];
          run[j] = a + b;
          run[j + half] = a - b;
        }
    for (int i = 0; i < block; ++i) run[i] *= norm;
  }
}

}  // namespace kvscope::ref
