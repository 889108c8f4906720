#include "kernels/attention.h"

#include <algorithm>

namespace kvscope {

// Keys are scored a chunk at a time for every token of the run, so that a chunk (8 KiB of f16
// keys at 64 values a head) is read from memory once per run rather than once per token. A run of
// several tokens widens and transposes the chunk once for all of them, where the kernels can.
constexpr size_t kScoreChunk = 64;

void attend_heads(const Kernels& k, const AttentionHeads& a, float scale, AttentionScratch& scratch,
                  float* out) {
  const auto first = static_cast<size_t>(a.first);
  const auto end = static_cast<size_t>(a.length + a.tokens - 1);  // the last token's length
  const size_t span = end - first;                                // positions first + j
  scratch.scores.resize(static_cast<size_t>(a.tokens) * a.group * span);
  scratch.keys.resize(span);
  scratch.values.resize(span);
  for (size_t j = 0; j < span; ++j) {
    const size_t offset = a.rows.offset(static_cast<int>(first + j)) + a.head_offset;
    scratch.keys[j] = a.rows.k + offset;
    scratch.values[j] = a.rows.v + offset;
  }
  // Token i's scores: [group][its length], at scores(i).
  const auto scores = [&](int i) {
    return &scratch.scores[static_cast<size_t>(i) * a.group * span];
  };
  const auto query_at = [&](int i) { return a.queries + i * a.query_stride; };
  const bool transposed = a.tokens > 1 && k.transpose_keys != nullptr;
  if (transposed) scratch.keys_t.resize(a.head_dim * kScoreChunk);
  for (size_t chunk = first; chunk < end; chunk += kScoreChunk) {
    if (transposed)
      k.transpose_keys(a.rows.type, &scratch.keys[chunk - first],
                       static_cast<int64_t>(std::min(kScoreChunk, end - chunk)), a.head_dim,
                       scratch.keys_t.data(), kScoreChunk);
    for (int i = 0; i < a.tokens; ++i) {
      const auto visible = static_cast<size_t>(a.first_of(i));
      const auto from = std::max(chunk, visible);
      const auto to = std::min(chunk + kScoreChunk, static_cast<size_t>(a.length + i));
      if (from >= to) continue;
      const auto count = static_cast<int64_t>(to - from);
      float* out = scores(i) + (from - visible);
      const auto stride = static_cast<int64_t>(a.length + i - visible);
      if (transposed)
        k.score_transposed(&scratch.keys_t[from - chunk], kScoreChunk, count, query_at(i), a.group,
                           a.head_dim, out, stride);
      else
        k.score_rows(a.rows.type, &scratch.keys[from - first], count, query_at(i), a.group,
                     a.head_dim, out, stride);
    }
  }
  for (int i = 0; i < a.tokens; ++i) {
    const int visible = a.first_of(i);
    const auto length = static_cast<int64_t>(a.length + i - visible);
    for (int g = 0; g < a.group; ++g) k.softmax(scores(i) + g * length, length, scale);
    k.weighted_rows(a.rows.type, &scratch.values[visible - first], length, scores(i), length,
                    a.group, a.head_dim, out + i * a.query_stride, a.head_dim);
  }
}

}  // namespace kvscope
