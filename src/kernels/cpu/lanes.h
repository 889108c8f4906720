#pragma once
// Vectors of f32 lanes for the elementwise kernels (activations, softmax) of inference and
// training. GCC turns arithmetic on them into one AVX or
// AVX-512 register operation in functions compiled for those targets (gnu::target), into SSE
// pairs elsewhere. Helpers take vectors by reference: passing or returning them by value would
// change the ABI between targets.
#include <cmath>
#include <cstdint>
#include <cstring>

namespace kvscope {

typedef float Lanes8 __attribute__((vector_size(32)));
typedef float Lanes16 __attribute__((vector_size(64)));

template <class V>
constexpr int64_t kLanes = sizeof(V) / sizeof(float);

// v = p[0, count), the lanes past count set to `fill`.
template <class V>
[[gnu::always_inline]] inline void load_lanes(V& v, const float* p, int64_t count,
                                              float fill = 0.0f) {
  if (count == kLanes<V>) {
    std::memcpy(&v, p, sizeof v);
  } else {
    for (int64_t i = 0; i < kLanes<V>; ++i) v[i] = i < count ? p[i] : fill;
  }
}

template <class V>
[[gnu::always_inline]] inline void store_lanes(float* p, const V& v, int64_t count) {
  if (count == kLanes<V>) {
    std::memcpy(p, &v, sizeof v);
  } else {
    for (int64_t i = 0; i < count; ++i) p[i] = v[i];
  }
}

// x = eˣ lane by lane, within 1e-7 relative (Cephes' expf: eˣ = 2ⁿ · e^r with |r| ≤ ln 2 / 2, a
// degree-7 polynomial for e^r). Inputs are clamped to [-87, 88], so that 2ⁿ stays a normal f32.
template <class V>
[[gnu::always_inline]] inline void exp_lanes(V& x) {
  typedef int32_t Ints __attribute__((vector_size(sizeof(V))));
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const V n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;  // round(x / ln 2), by 1.5 · 2²³
  const V r = x - n * 0.693359375f + n * 2.12194440e-4f;      // ln 2 in two parts
  V p = 1.9875691500e-4f * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const Ints bits = (__builtin_convertvector(n, Ints) + 127) << 23;
  V scale;
  std::memcpy(&scale, &bits, sizeof scale);
  x = p * scale;
}

// out = x / sqrt(mean(x²) + eps) · weight, as ref::rms_norm computes it but with the squares
// summed lane by lane, then the lanes in order: a row's sum is one chain of adds per lane rather
// than n adds in a row.
template <class V>
[[gnu::always_inline]] inline void rms_norm_lanes(const float* x, const float* weight, float* out,
                                                  int64_t n, float eps) {
  V sum_lanes = {};
  for (int64_t i = 0; i < n; i += kLanes<V>) {
    V v;
    load_lanes(v, x + i, n - i < kLanes<V> ? n - i : kLanes<V>);
    sum_lanes += v * v;
  }
  float sum = 0.0f;
  for (int64_t l = 0; l < kLanes<V>; ++l) sum += sum_lanes[l];
  const float scale = 1.0f / std::sqrt(sum / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; i += kLanes<V>) {
    const int64_t count = n - i < kLanes<V> ? n - i : kLanes<V>;
    V v, w;
    load_lanes(v, x + i, count);
    load_lanes(w, weight + i, count);
    store_lanes(out + i, v * scale * w, count);
  }
}

// out[i] = silu(gate[i]) · up[i] = gate[i] / (1 + e^-gate[i]) · up[i], as ref::swiglu computes it
// with exp_lanes for std::exp; every element alike, wherever it falls in a vector.
template <class V>
[[gnu::always_inline]] inline void swiglu_lanes(const float* gate, const float* up, float* out,
                                                int64_t n) {
  for (int64_t i = 0; i < n; i += kLanes<V>) {
    const int64_t count = n - i < kLanes<V> ? n - i : kLanes<V>;
    V g, u;
    load_lanes(g, gate + i, count);
    load_lanes(u, up + i, count);
    V e = -g;
    exp_lanes(e);
    store_lanes(out + i, g / (1.0f + e) * u, count);
  }
}

// x = softmax(scale · x) in place, as ref::softmax computes it but with the exponentials summed
// lane by lane, then the lanes in order.
template <class V>
[[gnu::always_inline]] inline void softmax_lanes(float* x, int64_t n, float scale) {
  V max_lanes = {};
  max_lanes -= INFINITY;
  for (int64_t i = 0; i < n; i += kLanes<V>) {
    const int64_t count = n - i < kLanes<V> ? n - i : kLanes<V>;
    V v;
    load_lanes(v, x + i, count, -INFINITY);
    v *= scale;
    store_lanes(x + i, v, count);
    max_lanes = v > max_lanes ? v : max_lanes;
  }
  float max = max_lanes[0];
  for (int64_t l = 1; l < kLanes<V>; ++l) max = max_lanes[l] > max ? max_lanes[l] : max;
  V sum_lanes = {};
  for (int64_t i = 0; i < n; i += kLanes<V>) {
    const int64_t count = n - i < kLanes<V> ? n - i : kLanes<V>;
    V e;
    load_lanes(e, x + i, count, -INFINITY);
    e -= max;
    exp_lanes(e);
    if (count < kLanes<V>)  // the clamped exp of the missing lanes' -inf is not zero
      for (int64_t l = count; l < kLanes<V>; ++l) e[l] = 0.0f;
    store_lanes(x + i, e, count);
    sum_lanes += e;
  }
  float sum = 0.0f;
  for (int64_t l = 0; l < kLanes<V>; ++l) sum += sum_lanes[l];
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; i += kLanes<V>) {
    const int64_t count = n - i < kLanes<V> ? n - i : kLanes<V>;
    V v;
    load_lanes(v, x + i, count);
    store_lanes(x + i, v * inv, count);
  }
}

}  // namespace kvscope
