#include "kvcache/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/half.h"
#include "kernels/ref/quantized.h"

namespace kvscope {

std::string_view strategy_name(CacheStrategy strategy) {
  switch (strategy) {
    case CacheStrategy::kNone:
      return "none";
    case CacheStrategy::kConcat:
      return "concat";
    case CacheStrategy::kPrealloc:
      return "prealloc";
    case CacheStrategy::kPaged:
      return "paged";
    case CacheStrategy::kPagedPrefix:
      return "paged+prefix";
  }
  return "?";
}

bool is_paged(CacheStrategy strategy) {
  return strategy == CacheStrategy::kPaged || strategy == CacheStrategy::kPagedPrefix;
}

CacheStrategy parse_strategy(std::string_view name) {
  for (CacheStrategy s : {CacheStrategy::kNone, CacheStrategy::kConcat, CacheStrategy::kPrealloc,
                          CacheStrategy::kPaged, CacheStrategy::kPagedPrefix})
    if (strategy_name(s) == name) return s;
  fail("unknown cache strategy '{}' (expected none, concat, prealloc, paged or paged+prefix)",
       name);
}

std::string_view kv_type_name(KvType type) {
  switch (type) {
    case KvType::kF32:
      return "f32";
    case KvType::kF16:
      return "f16";
    case KvType::kQ8_0:
      return "q8_0";
  }
  return "?";
}

KvType parse_kv_type(std::string_view name) {
  for (KvType t : {KvType::kF32, KvType::kF16, KvType::kQ8_0})
    if (kv_type_name(t) == name) return t;
  fail("unknown KV type '{}' (expected f32, f16 or q8_0)", name);
}

DType kv_dtype(KvType type) {
  switch (type) {
    case KvType::kF32:
      return DType::kF32;
    case KvType::kF16:
      return DType::kF16;
    case KvType::kQ8_0:
      return DType::kQ8_0;
  }
  return DType::kF32;
}

size_t KvShape::row_bytes() const {
  return dtype_bytes(kv_dtype(type), static_cast<size_t>(kv_dim));
}

size_t KvShape::budget() const {
  if (budget_bytes != 0) return budget_bytes;
  // Whole blocks, so that every sequence can reach n_ctx in the paged pool too.
  const size_t blocks = (static_cast<size_t>(n_ctx) + block_size - 1) / std::max(1, block_size);
  return static_cast<size_t>(n_seqs) * blocks * std::max(1, block_size) * bytes_per_token();
}

KvCache::KvCache(const KvShape& shape, CacheStrategy strategy)
    : shape_(shape), strategy_(strategy), lengths_(static_cast<size_t>(shape.n_seqs), 0) {
  if (shape.type == KvType::kQ8_0 && shape.kv_dim % 32 != 0)
    fail("a q8_0 KV cache needs rows of a multiple of 32 values, this model's are {}",
         shape.kv_dim);
}

size_t KvCache::bytes_used() const {
  size_t tokens = 0;
  for (int len : lengths_) tokens += static_cast<size_t>(len);
  return tokens * shape_.bytes_per_token();
}

bool KvCache::could_fit(int length) const {
  return static_cast<size_t>(length) * shape_.bytes_per_token() <= shape_.budget();
}

void KvCache::store_rows(uint8_t* dst, const float* src, int n) const {
  const size_t count = static_cast<size_t>(n) * shape_.kv_dim;
  switch (shape_.type) {
    case KvType::kF32:
      std::memcpy(dst, src, count * sizeof(float));
      return;
    case KvType::kF16: {
      auto* out = reinterpret_cast<uint16_t*>(dst);
      for (size_t i = 0; i < count; ++i) out[i] = f32_to_f16(src[i]);
      return;
    }
    case KvType::kQ8_0:
      ref::quantize_row_q8_0(src, dst, static_cast<int64_t>(count));
      return;
  }
}

void KvCache::check(int layer, int seq, int pos, int n) const {
  if (layer < 0 || layer >= shape_.n_layers || seq < 0 || seq >= shape_.n_seqs || pos < 0 || n < 0)
    fail("KV cache: layer {} of sequence {} at position {} is out of range", layer, seq, pos);
  if (pos + n > shape_.n_ctx)
    fail("context full: sequence {} would reach {} tokens, the context holds {}", seq, pos + n,
         shape_.n_ctx);
}

namespace {

constexpr int32_t kOneBlock[1] = {0};
constexpr int kWholeBuffer = std::numeric_limits<int>::max();

// One buffer per request, laid out [layer][K|V][position][kv_dim], reserved at once for the
// length it may reach. A continuation that outgrows it moves it into one twice as large (up to the
// context, and as the budget allows): a session fed a token at a time moves it a few times, not at
// every token.
class PreallocCache : public KvCache {
 public:
  explicit PreallocCache(const KvShape& shape)
      : KvCache(shape, CacheStrategy::kPrealloc), slots_(static_cast<size_t>(shape.n_seqs)) {}

  bool reserve(int seq, int length) override {
    check(0, seq, 0, length);
    Slot& slot = slots_[seq];
    if (length <= slot.capacity) return true;
    const size_t held = bytes_reserved() - slot_bytes(slot.capacity);
    if (held + slot_bytes(length) > shape_.budget()) return false;
    if (const int doubled = std::min(shape_.n_ctx, 2 * slot.capacity);
        doubled > length && held + slot_bytes(doubled) <= shape_.budget())
      length = doubled;
    std::unique_ptr<uint8_t[]> grown(new uint8_t[slot_bytes(length)]);  // untouched until written
    const size_t rows = static_cast<size_t>(lengths_[seq]) * shape_.row_bytes();
    for (int layer = 0; layer < shape_.n_layers && rows > 0; ++layer)
      for (int kv = 0; kv < 2; ++kv)
        std::memcpy(grown.get() + (2 * layer + kv) * layer_bytes(length),
                    slot.data.get() + (2 * layer + kv) * layer_bytes(slot.capacity), rows);
    slot = {std::move(grown), length};
    note_reserved();
    return true;
  }

  void write(int layer, int seq, int pos, int n, const float* k, const float* v) override {
    check(layer, seq, pos, n);
    const Slot& slot = slots_[seq];
    if (pos + n > slot.capacity)
      fail("KV cache: sequence {} writes past its reservation of {}", seq, slot.capacity);
    uint8_t* base = slot.data.get() + 2 * layer * layer_bytes(slot.capacity);
    const size_t offset = static_cast<size_t>(pos) * shape_.row_bytes();
    store_rows(base + offset, k, n);
    store_rows(base + layer_bytes(slot.capacity) + offset, v, n);
    if (layer == shape_.n_layers - 1) lengths_[seq] = std::max(lengths_[seq], pos + n);
  }

  CachedRows view(int layer, int seq) const override {
    const Slot& slot = slots_[seq];
    const uint8_t* base = slot.data.get() + 2 * layer * layer_bytes(slot.capacity);
    return {base,
            base + layer_bytes(slot.capacity),
            kOneBlock,
            0,
            shape_.row_bytes(),
            kWholeBuffer,
            kv_dtype(shape_.type)};
  }

  void release(int seq) override {
    slots_[seq] = {};
    lengths_[seq] = 0;
  }

  size_t bytes_reserved() const override {
    size_t total = 0;
    for (const Slot& s : slots_) total += slot_bytes(s.capacity);
    return total;
  }

 private:
  struct Slot {
    std::unique_ptr<uint8_t[]> data;
    int capacity = 0;
  };
  size_t layer_bytes(int capacity) const {
    return static_cast<size_t>(capacity) * shape_.row_bytes();
  }
  size_t slot_bytes(int capacity) const {
    return 2 * layer_bytes(capacity) * static_cast<size_t>(shape_.n_layers);
  }

  std::vector<Slot> slots_;
};

// Separate K and V buffers per (layer, sequence) that hold exactly the rows written so far:
// every append allocates a larger buffer, copies the old rows and the new ones, frees the old.
// "none" is the same storage released by the engine before every step, so between steps it
// holds nothing and during a step only what a cache-less forward pass holds anyway.
class ConcatCache : public KvCache {
 public:
  ConcatCache(const KvShape& shape, CacheStrategy strategy)
      : KvCache(shape, strategy),
        k_(static_cast<size_t>(shape.n_layers * shape.n_seqs)),
        v_(k_.size()),
        promised_(static_cast<size_t>(shape.n_seqs), 0) {}

  // Memory is taken as rows are written; the budget counts what each sequence was promised.
  bool reserve(int seq, int length) override {
    check(0, seq, 0, length);
    size_t promised = 0;
    for (size_t s = 0; s < promised_.size(); ++s)
      promised += static_cast<size_t>(static_cast<int>(s) == seq ? std::max(length, promised_[s])
                                                                 : promised_[s]);
    if (promised * shape_.bytes_per_token() > shape_.budget()) return false;
    promised_[seq] = std::max(promised_[seq], length);
    return true;
  }

  void write(int layer, int seq, int pos, int n, const float* k, const float* v) override {
    check(layer, seq, pos, n);
    const size_t slot = static_cast<size_t>(layer * shape_.n_seqs + seq);
    append(k_[slot], pos, n, k);
    append(v_[slot], pos, n, v);
    note_reserved();
    // Every layer is written for the same positions; the length follows the last layer.
    if (layer == shape_.n_layers - 1) lengths_[seq] = pos + n;
  }

  CachedRows view(int layer, int seq) const override {
    const size_t slot = static_cast<size_t>(layer * shape_.n_seqs + seq);
    return {k_[slot].data(), v_[slot].data(),      kOneBlock, 0, shape_.row_bytes(),
            kWholeBuffer,    kv_dtype(shape_.type)};
  }

  void release(int seq) override {
    lengths_[seq] = 0;
    promised_[seq] = 0;
    for (int layer = 0; layer < shape_.n_layers; ++layer) {
      const size_t slot = static_cast<size_t>(layer * shape_.n_seqs + seq);
      std::vector<uint8_t>().swap(k_[slot]);
      std::vector<uint8_t>().swap(v_[slot]);
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
    if (kept > buffer.size()) fail("KV cache: a row written at position {} leaves a gap", pos);
    std::vector<uint8_t> grown(kept + static_cast<size_t>(n) * shape_.row_bytes());
    if (kept > 0) std::memcpy(grown.data(), buffer.data(), kept);
    store_rows(grown.data() + kept, rows, n);
    buffer = std::move(grown);
  }

  std::vector<std::vector<uint8_t>> k_, v_;
  std::vector<int> promised_;
};

}  // namespace

std::unique_ptr<KvCache> make_kv_cache(CacheStrategy strategy, const KvShape& shape) {
  switch (strategy) {
    case CacheStrategy::kPrealloc:
      return std::make_unique<PreallocCache>(shape);
    case CacheStrategy::kPaged:
      return make_paged_cache(shape);
    case CacheStrategy::kPagedPrefix: {
      KvShape with_prefix = shape;
      with_prefix.prefix_cache = true;
      return make_paged_cache(with_prefix);
    }
    default:
      return std::make_unique<ConcatCache>(shape, strategy);
  }
}

}  // namespace kvscope
