#include "kvcache/kv_cache.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "core/error.h"
#include "core/half.h"

namespace kvscope {

std::string_view strategy_name(CacheStrategy strategy) {
  switch (strategy) {
    case CacheStrategy::kNone: return "none";
    case CacheStrategy::kConcat: return "concat";
    case CacheStrategy::kPrealloc: return "prealloc";
  }
  return "?";
}

CacheStrategy parse_strategy(std::string_view name) {
  for (CacheStrategy s : {CacheStrategy::kNone, CacheStrategy::kConcat, CacheStrategy::kPrealloc})
    if (strategy_name(s) == name) return s;
  fail("unknown cache strategy '{}' (expected none, concat or prealloc)", name);
}

std::string_view kv_type_name(KvType type) { return type == KvType::kF32 ? "f32" : "f16"; }

KvType parse_kv_type(std::string_view name) {
  if (name == "f32") return KvType::kF32;
  if (name == "f16") return KvType::kF16;
  fail("unknown KV type '{}' (expected f32 or f16)", name);
}

size_t kv_type_bytes(KvType type) { return type == KvType::kF32 ? 4 : 2; }

KvCache::KvCache(const KvShape& shape, CacheStrategy strategy)
    : shape_(shape), strategy_(strategy), lengths_(static_cast<size_t>(shape.n_seqs), 0) {}

size_t KvCache::bytes_used() const {
  size_t tokens = 0;
  for (int len : lengths_) tokens += static_cast<size_t>(len);
  return tokens * shape_.bytes_per_token();
}

void KvCache::store_rows(uint8_t* dst, const float* src, int n) const {
  const size_t count = static_cast<size_t>(n) * shape_.kv_dim;
  if (shape_.type == KvType::kF32) {
    std::memcpy(dst, src, count * sizeof(float));
    return;
  }
  auto* out = reinterpret_cast<uint16_t*>(dst);
  for (size_t i = 0; i < count; ++i) out[i] = f32_to_f16(src[i]);
}

void KvCache::check(int layer, int seq, int pos, int n) const {
  assert(layer >= 0 && layer < shape_.n_layers && seq >= 0 && seq < shape_.n_seqs);
  if (pos + n > shape_.n_ctx)
    fail("context full: sequence {} would reach {} tokens, the context holds {}", seq, pos + n,
         shape_.n_ctx);
}

namespace {

// One buffer per sequence, laid out [layer][K|V][position][kv_dim], reserved for n_ctx up front.
class PreallocCache : public KvCache {
 public:
  explicit PreallocCache(const KvShape& shape)
      : KvCache(shape, CacheStrategy::kPrealloc),
        layer_bytes_(static_cast<size_t>(shape.n_ctx) * shape.row_bytes()),
        buffers_(static_cast<size_t>(shape.n_seqs)) {
    for (auto& b : buffers_) b.resize(2 * layer_bytes_ * static_cast<size_t>(shape.n_layers));
  }

  void write(int layer, int seq, int pos, int n, const float* k, const float* v) override {
    check(layer, seq, pos, n);
    uint8_t* base = buffers_[seq].data() + 2 * layer_bytes_ * layer;
    const size_t offset = static_cast<size_t>(pos) * shape_.row_bytes();
    store_rows(base + offset, k, n);
    store_rows(base + layer_bytes_ + offset, v, n);
    lengths_[seq] = std::max(lengths_[seq], pos + n);
  }

  KvView view(int layer, int seq, int length) const override {
    assert(length <= lengths_[seq]);
    const uint8_t* base = buffers_[seq].data() + 2 * layer_bytes_ * layer;
    return {base, base + layer_bytes_, length, shape_.type};
  }

  void truncate(int seq, int length) override { lengths_[seq] = std::min(lengths_[seq], length); }

  size_t bytes_reserved() const override {
    return buffers_.size() * 2 * layer_bytes_ * static_cast<size_t>(shape_.n_layers);
  }

 private:
  size_t layer_bytes_;
  std::vector<std::vector<uint8_t>> buffers_;
};

// Separate K and V buffers per (layer, sequence) that hold exactly the rows written so far:
// every append allocates a larger buffer, copies the old rows and the new ones, frees the old.
// "none" is the same storage emptied by the generator before every step, so between steps it
// holds nothing and during a step only what a cache-less forward pass holds anyway.
class ConcatCache : public KvCache {
 public:
  ConcatCache(const KvShape& shape, CacheStrategy strategy)
      : KvCache(shape, strategy),
        k_(static_cast<size_t>(shape.n_layers * shape.n_seqs)),
        v_(k_.size()) {}

  void write(int layer, int seq, int pos, int n, const float* k, const float* v) override {
    check(layer, seq, pos, n);
    const size_t slot = static_cast<size_t>(layer * shape_.n_seqs + seq);
    append(k_[slot], pos, n, k);
    append(v_[slot], pos, n, v);
    // Every layer is written for the same positions; the length follows the last layer.
    if (layer == shape_.n_layers - 1) lengths_[seq] = pos + n;
  }

  KvView view(int layer, int seq, int length) const override {
    const size_t slot = static_cast<size_t>(layer * shape_.n_seqs + seq);
    assert(static_cast<size_t>(length) * shape_.row_bytes() <= k_[slot].size());
    return {k_[slot].data(), v_[slot].data(), length, shape_.type};
  }

  void truncate(int seq, int length) override {
    lengths_[seq] = std::min(lengths_[seq], length);
    const size_t keep = static_cast<size_t>(lengths_[seq]) * shape_.row_bytes();
    for (int layer = 0; layer < shape_.n_layers; ++layer) {
      const size_t slot = static_cast<size_t>(layer * shape_.n_seqs + seq);
      k_[slot].resize(std::min(k_[slot].size(), keep));
      v_[slot].resize(std::min(v_[slot].size(), keep));
      k_[slot].shrink_to_fit();
      v_[slot].shrink_to_fit();
    }
  }

  bool keeps_history() const override { return strategy_ != CacheStrategy::kNone; }

  size_t bytes_reserved() const override {
    size_t total = 0;
    for (size_t i = 0; i < k_.size(); ++i) total += k_[i].capacity() + v_[i].capacity();
    return total;
  }

 private:
  void append(std::vector<uint8_t>& buffer, int pos, int n, const float* rows) const {
    const size_t kept = static_cast<size_t>(pos) * shape_.row_bytes();
    std::vector<uint8_t> grown(kept + static_cast<size_t>(n) * shape_.row_bytes());
    if (!buffer.empty()) std::memcpy(grown.data(), buffer.data(), std::min(kept, buffer.size()));
    store_rows(grown.data() + kept, rows, n);
    buffer = std::move(grown);
  }

  std::vector<std::vector<uint8_t>> k_, v_;
};

}  // namespace

std::unique_ptr<KvCache> make_kv_cache(CacheStrategy strategy, const KvShape& shape) {
  if (strategy == CacheStrategy::kPrealloc) return std::make_unique<PreallocCache>(shape);
  return std::make_unique<ConcatCache>(shape, strategy);
}

}  // namespace kvscope
