#pragma once
// IEEE half and bfloat16 conversions, exact and portable (no F16C needed).
#include <cstdint>
#include <cstring>

namespace kvscope {

inline float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t float_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  if (exponent == 0x1f) return bits_to_float(sign | 0x7f800000 | (mantissa << 13));
  if (exponent != 0) return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Subnormal (or zero): the value is mantissa * 2^-24.
  const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
  return sign ? -magnitude : magnitude;
}

// Round to nearest even, with overflow to infinity, as the hardware conversion does.
inline uint16_t f32_to_f16(float f) {
  const uint32_t bits = float_to_bits(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t abs_bits = bits & 0x7fffffff;
  if (abs_bits >= 0x7f800000) return sign | 0x7c00 | (abs_bits > 0x7f800000 ? 0x200 : 0);
  if (abs_bits >= 0x477ff000) return sign | 0x7c00;  // rounds past the largest half
  if (abs_bits < 0x38800000) {                       // below the smallest normal half
    const float magnitude = bits_to_float(abs_bits);
    // Adding 0.5 shifts the value so the FPU rounds the subnormal mantissa for us.
    return sign | static_cast<uint16_t>(float_to_bits(magnitude + 0.5f) - float_to_bits(0.5f));
  }
  const uint32_t rounded = abs_bits + 0xfff + ((abs_bits >> 13) & 1);
  return sign | static_cast<uint16_t>((rounded - (112u << 23)) >> 13);
}

inline float bf16_to_f32(uint16_t b) { return bits_to_float(static_cast<uint32_t>(b) << 16); }

}  // namespace kvscope
