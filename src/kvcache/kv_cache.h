#pragma once
// The KV cache: a Session's memory of the keys and values of the tokens it has seen, one row of
// kv_dim values per (layer, sequence, position). Strategies differ only in how they hold that
// memory, never in the values, so every strategy gives bitwise identical logits.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace kvscope {

enum class CacheStrategy {
  kNone,      // keeps nothing between steps: every step recomputes the whole sequence
  kConcat,    // grows by reallocation and copy at every step (the torch.cat pattern)
  kPrealloc,  // reserved once for the whole context, appended in place
};
enum class KvType { kF32, kF16 };

std::string_view strategy_name(CacheStrategy strategy);
CacheStrategy parse_strategy(std::string_view name);  // Error on an unknown name
std::string_view kv_type_name(KvType type);
KvType parse_kv_type(std::string_view name);
size_t kv_type_bytes(KvType type);

struct KvShape {
  int n_layers = 0;
  int kv_dim = 0;      // values per row (KV heads × head size)
  int n_seqs = 1;      // sequences held side by side
  int n_ctx = 0;       // positions each sequence may reach
  KvType type = KvType::kF32;

  size_t row_bytes() const { return static_cast<size_t>(kv_dim) * kv_type_bytes(type); }
  // Bytes of K and V for one token across all layers.
  size_t bytes_per_token() const { return 2 * static_cast<size_t>(n_layers) * row_bytes(); }
};

// Rows [0, length) of one layer and sequence, each row_bytes apart.
struct KvView {
  const uint8_t* k = nullptr;
  const uint8_t* v = nullptr;
  int length = 0;
  KvType type = KvType::kF32;
};

class KvCache {
 public:
  virtual ~KvCache() = default;

  // Stores n rows of f32 keys and values (kv_dim each, contiguous) at positions [pos, pos + n).
  virtual void write(int layer, int seq, int pos, int n, const float* k, const float* v) = 0;
  // The rows of positions [0, length) of `seq` in `layer`; all must have been written.
  virtual KvView view(int layer, int seq, int length) const = 0;
  // Forgets positions from `length` on (0 empties the sequence).
  virtual void truncate(int seq, int length) = 0;
  // Whether rows survive from one step to the next; if not, each step feeds the whole sequence.
  virtual bool keeps_history() const { return true; }

  virtual size_t bytes_reserved() const = 0;  // memory held now
  size_t bytes_used() const;                  // memory holding live rows
  int length(int seq) const { return lengths_[seq]; }
  const KvShape& shape() const { return shape_; }
  CacheStrategy strategy() const { return strategy_; }

 protected:
  KvCache(const KvShape& shape, CacheStrategy strategy);
  // Converts f32 rows into the storage type at dst.
  void store_rows(uint8_t* dst, const float* src, int n) const;
  void check(int layer, int seq, int pos, int n) const;

  KvShape shape_;
  CacheStrategy strategy_;
  std::vector<int> lengths_;
};

std::unique_ptr<KvCache> make_kv_cache(CacheStrategy strategy, const KvShape& shape);

}  // namespace kvscope
