#include "kernels/attention.h"

#include <cstring>

#include "kernels/ref/ops.h"

namespace kvscope {

void attend_heads(const Kernels& k, const AttentionHeads& a, float scale, std::vector<float>& scores, float* out) {
  const auto length = static_cast<size_t>(a.length);
  scores.resize(static_cast<size_t>(a.group) * length);
  for (size_t j = 0; j < length; ++j)
    for (int g = 0; g < a.group; ++g)
      scores[g * length + j] = k.dot(a.queries + g * a.head_dim, a.keys + j * a.row_stride, a.head_dim) * scale;
  for (int g = 0; g < a.group; ++g) ref::softmax(&scores[g * length], a.length);
  std::memset(out, 0, static_cast<size_t>(a.group) * a.head_dim * sizeof(float));
  for (size_t j = 0; j < length; ++j)
    for (int g = 0; g < a.group; ++g)
      k.axpy(out + g * a.head_dim, scores[g * length + j], a.values + j * a.row_stride, a.head_dim);
}

}  // namespace kvscope
