// The scalar dequantizers against gguf-py's, on the blocks scripts/make_model_goldens.py wrote
// to tests/fixtures/dequant/ (quantized random data, random K-quant blocks, and F16/BF16 edge
// values: zeros, subnormals, the largest finite, infinities, NaNs).
#include "kernels/ref/dequantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "core/dtype.h"
#include "format_files.h"

namespace kvscope {
namespace {

using kvscope::testing::fixture;
using kvscope::testing::files::read_bytes;
using kvscope::testing::files::read_json;

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

TEST(Dequantize, MatchesGgufPyForEveryType) {
  const nlohmann::json index = read_json(fixture("dequant/index.json"));
  std::set<std::string> seen;
  for (const auto& [name, entry] : index.items()) {
    SCOPED_TRACE(name);
    const auto type = dtype_from_ggml(entry["ggml_type"].get<uint32_t>());
    ASSERT_TRUE(type.has_value());
    EXPECT_EQ(dtype_name(*type), name);
    seen.insert(name);
    const auto raw = read_bytes(fixture("dequant/" + entry["raw"].get<std::string>()));
    const auto expected_bytes =
        read_bytes(fixture("dequant/" + entry["values"].get<std::string>()));
    const auto n = entry["elements"].get<int64_t>();
    ASSERT_EQ(raw.size(), dtype_bytes(*type, static_cast<size_t>(n)));
    ASSERT_EQ(expected_bytes.size(), static_cast<size_t>(n) * 4);
    std::vector<float> expected(static_cast<size_t>(n)), got(static_cast<size_t>(n), -999.0f);
    std::memcpy(expected.data(), expected_bytes.data(), expected_bytes.size());
    ref::dequantize_row(*type, raw.data(), got.data(), n);
    int mismatches = 0;
    for (int64_t i = 0; i < n && mismatches < 10; ++i) {
      const float e = expected[i], g = got[i];
      bool ok;
      if (*type == DType::kF16 || *type == DType::kBF16) {
        ok = bits(e) == bits(g);  // widening is exact, NaN payloads and signed zeros included
      } else {
        ok = std::isfinite(g) && std::fabs(g - e) <= 1e-6f * std::fabs(e);
      }
      if (!ok) {
        ++mismatches;
        ADD_FAILURE() << name << " element " << i << ": got " << g << " (0x" << std::hex << bits(g)
                      << "), gguf-py " << e << " (0x" << bits(e) << ")" << std::dec;
      }
    }
  }
  EXPECT_EQ(seen, (std::set<std::string>{"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                                         "Q4_K", "Q5_K", "Q6_K"}));
}

TEST(Dequantize, EdgeValuesAreCovered) {
  // The F16 fixture must hold what the bit-exact comparison above is meant to catch.
  const auto raw = read_bytes(fixture("dequant/f16.raw"));
  std::set<uint16_t> halves;
  for (size_t i = 0; i + 1 < raw.size(); i += 2) halves.insert(uint16_t(raw[i] | raw[i + 1] << 8));
  for (uint16_t h : {0x0000, 0x8000, 0x0001, 0x03FF, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01})
    EXPECT_TRUE(halves.count(h)) << std::hex << h;
}

}  // namespace
}  // namespace kvscope
