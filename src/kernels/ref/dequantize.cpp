#include "kernels/ref/dequantize.h"

#include <cstring>

#include "core/half.h"

namespace kvscope::ref {
namespace {

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Q8_0: f16 scale, 32 signed bytes.
void dequantize_q8_0(const uint8_t* block, float* y) {
  const float d = f16_to_f32(load_u16(block));
  const auto* q = reinterpret_cast<const int8_t*>(block + 2);
  for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(q[j]);
}

// Q4_0: f16 scale, 16 bytes of nibbles (low nibbles are elements 0..15, high ones 16..31),
// offset 8.
void dequantize_q4_0(const uint8_t* block, float* y) {
  const float d = f16_to_f32(load_u16(block));
  const uint8_t* q = block + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((q[j] & 0x0f) - 8);
    y[j + 16] = d * static_cast<float>((q[j] >> 4) - 8);
  }
}

// Q4_1: f16 scale and f16 minimum, then nibbles as in Q4_0 without the offset.
void dequantize_q4_1(const uint8_t* block, float* y) {
  const float d = f16_to_f32(load_u16(block));
  const float m = f16_to_f32(load_u16(block + 2));
  const uint8_t* q = block + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(q[j] & 0x0f) + m;
    y[j + 16] = d * static_cast<float>(q[j] >> 4) + m;
  }
}

// Q5_0: f16 scale, 32 high bits (qh, little-endian: bit j is element j's fifth bit), 16 bytes of
// low nibbles as in Q4_0; offset 16.
void dequantize_q5_0(const uint8_t* block, float* y) {
  const float d = f16_to_f32(load_u16(block));
  uint32_t qh;
  std::memcpy(&qh, block + 2, 4);
  const uint8_t* q = block + 6;
  for (int j = 0; j < 16; ++j) {
    const int high0 = static_cast<int>((qh >> j) & 1) << 4;
    const int high1 = static_cast<int>((qh >> (j + 16)) & 1) << 4;
    y[j] = d * static_cast<float>(((q[j] & 0x0f) | high0) - 16);
    y[j + 16] = d * static_cast<float>(((q[j] >> 4) | high1) - 16);
  }
}

// Q5_1: f16 scale and f16 minimum, then Q5_0's high bits and nibbles without the offset.
void dequantize_q5_1(const uint8_t* block, float* y) {
  const float d = f16_to_f32(load_u16(block));
  const float m = f16_to_f32(load_u16(block + 2));
  uint32_t qh;
  std::memcpy(&qh, block + 4, 4);
  const uint8_t* q = block + 8;
  for (int j = 0; j < 16; ++j) {
    const int high0 = static_cast<int>((qh >> j) & 1) << 4;
    const int high1 = static_cast<int>((qh >> (j + 16)) & 1) << 4;
    y[j] = d * static_cast<float>((q[j] & 0x0f) | high0) + m;
    y[j + 16] = d * static_cast<float>((q[j] >> 4) | high1) + m;
  }
}

// The 6-bit scale and minimum of sub-block j packed into Q4_K's 12 scale bytes.
void q4_k_scale_min(int j, const uint8_t* s, int* scale, int* min) {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
  } else {
    *scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q4_K and Q5_K: 256 values in 8 sub-blocks of 32, each with a 6-bit scale and minimum under f16
// d, dmin; nibbles, and for Q5_K a fifth bit per value: qh[l] bit 2i is the high bit of value l
// of sub-block 2i, bit 2i+1 that of value l of sub-block 2i+1 (qh is null for Q4_K).
void dequantize_k_sub_blocks(const uint8_t* block, const uint8_t* qh, const uint8_t* q, float* y) {
  const float d = f16_to_f32(load_u16(block));
  const float dmin = f16_to_f32(load_u16(block + 2));
  const uint8_t* scales = block + 4;
  auto high = [qh](int l, int sub) { return qh == nullptr ? 0 : ((qh[l] >> sub) & 1) << 4; };
  for (int sub = 0; sub < 8; sub += 2) {
    int sc = 0, mn = 0;
    q4_k_scale_min(sub, scales, &sc, &mn);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(mn);
    q4_k_scale_min(sub + 1, scales, &sc, &mn);
    const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(mn);
    for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>((q[l] & 0x0f) | high(l, sub)) - m1;
    for (int l = 0; l < 32; ++l)
      y[l + 32] = d2 * static_cast<float>((q[l] >> 4) | high(l, sub + 1)) - m2;
    y += 64;
    q += 32;
  }
}

void dequantize_q4_k(const uint8_t* block, float* y) {
  dequantize_k_sub_blocks(block, nullptr, block + 16, y);
}

void dequantize_q5_k(const uint8_t* block, float* y) {
  dequantize_k_sub_blocks(block, block + 16, block + 48, y);
}

// Q6_K: 256 values as 4 low bits (ql) and 2 high bits (qh), 16 signed 8-bit scales, f16 d last.
void dequantize_q6_k(const uint8_t* block, float* y) {
  const uint8_t* ql = block;
  const uint8_t* qh = block + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(block + 192);
  const float d = f16_to_f32(load_u16(block + 208));
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

}  // namespace

void dequantize_row(DType type, const uint8_t* src, float* dst, int64_t n) {
  const DTypeInfo& info = dtype_info(type);
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load_u16(src + 2 * i));
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_u16(src + 2 * i));
      return;
    default:
      break;
  }
  void (*block_fn)(const uint8_t*, float*) = nullptr;
  switch (type) {
    case DType::kQ8_0:
      block_fn = dequantize_q8_0;
      break;
    case DType::kQ4_0:
      block_fn = dequantize_q4_0;
      break;
    case DType::kQ4_1:
      block_fn = dequantize_q4_1;
      break;
    case DType::kQ4_K:
      block_fn = dequantize_q4_k;
      break;
    case DType::kQ6_K:
      block_fn = dequantize_q6_k;
      break;
    case DType::kQ5_0:
      block_fn = dequantize_q5_0;
      break;
    case DType::kQ5_1:
      block_fn = dequantize_q5_1;
      break;
    case DType::kQ5_K:
      block_fn = dequantize_q5_k;
      break;
    default:
      break;
  }
  for (int64_t b = 0; b < n / info.block_size; ++b)
    block_fn(src + b * info.block_bytes, dst + b * info.block_size);
}

}  // namespace kvscope::ref
