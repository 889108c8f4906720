#pragma once
// The KV cache: the keys and values of the tokens the engine has seen, one row of kv_dim values
// per (layer, sequence slot, position). Strategies differ only in how they hold that memory,
// never in the values, so every strategy gives bitwise identical logits.
//
// The engine owns one cache for all its requests; each running request holds a slot. A slot's
// rows are read through a block table (kernels/attention.h): the paged pool hands out blocks of
// block_size positions from one shared pool, the contiguous baselines are one block per slot.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "kernels/attention.h"

namespace kvscope {

enum class CacheStrategy {
  kNone,         // keeps nothing between steps: every step recomputes the whole sequence
  kConcat,       // grows by reallocation and copy at every step (the torch.cat pattern)
  kPrealloc,     // one contiguous buffer per request, reserved for its longest possible length
  kPaged,        // blocks of block_size positions from one shared pool, taken as a sequence grows
  kPagedPrefix,  // paged, with full blocks kept for later prompts to reuse (prefix_cache on)
};
bool is_paged(CacheStrategy strategy);
enum class KvType { kF32, kF16, kQ8_0 };

std::string_view strategy_name(CacheStrategy strategy);
CacheStrategy parse_strategy(std::string_view name);  // Error on an unknown name
std::string_view kv_type_name(KvType type);
KvType parse_kv_type(std::string_view name);
DType kv_dtype(KvType type);

struct KvShape {
  int n_layers = 0;
  int kv_dim = 0;  // values per row (KV heads × head size)
  int n_seqs = 1;  // slots: sequences held at once
  int n_ctx = 0;   // positions a sequence may reach
  KvType type = KvType::kF32;
  int block_size = 16;  // positions per block (paged)
  size_t budget_bytes =
      0;  // memory the cache may hold for sequences; 0: n_seqs × n_ctx rows (whole blocks)
  bool prefix_cache = false;  // paged: keep full blocks for reuse by later prompts (paged+prefix)

  size_t row_bytes() const;  // one layer's K (or V) row of one position, as stored
  // Bytes of K and V for one token across all layers.
  size_t bytes_per_token() const { return 2 * static_cast<size_t>(n_layers) * row_bytes(); }
  size_t budget() const;  // budget_bytes, or its default
};

// The paged pool's state, for metrics and the pool view (zero for the baselines).
struct PoolStats {
  int64_t blocks_total = 0;
  int64_t blocks_used = 0;    // referenced by at least one sequence
  int64_t blocks_cached = 0;  // unreferenced, kept for prefix reuse (evictable)
  int64_t prefix_hit_tokens = 0;
  int64_t evictions = 0;
};

// One block of the paged pool, as the pool view draws it.
struct BlockState {
  int refs = 0;           // sequences holding it; above 1, a shared prefix
  bool cached = false;    // unreferenced, kept for prefix reuse
  int64_t evictions = 0;  // times its cached contents were dropped for another use
};

class KvCache {
 public:
  virtual ~KvCache() = default;

  // Makes room in `seq` for positions [0, length); false when the memory is not there (the
  // sequence keeps what it had).
  virtual bool reserve(int seq, int length) = 0;
  // Stores n rows of f32 keys and values (kv_dim each, contiguous) at positions [pos, pos + n),
  // which must have been reserved.
  virtual void write(int layer, int seq, int pos, int n, const float* k, const float* v) = 0;
  // The rows of positions [0, length) of `seq` in `layer`; all must have been written.
  virtual CachedRows view(int layer, int seq) const = 0;
  // Forgets the sequence and gives its memory back (shared blocks stay with their other users).
  virtual void release(int seq) = 0;
  // Gives back the blocks of `seq` that hold only positions before `pos`, which no later query
  // reads (those behind a sliding window in every layer), as release() does; their rows must not
  // be read again. Positions are committed first. Paged only: the other strategies keep them.
  virtual void drop_before(int seq, int pos) {}
  // Whether rows survive from one step to the next; if not, each step feeds the whole sequence.
  virtual bool keeps_history() const { return true; }

  // Prefix reuse (paged with prefix_cache): attaches to the empty `seq` the cached blocks that
  // hold the longest prefix of `tokens` in whole blocks, leaving at least the last token to
  // compute; returns the positions reused.
  virtual int reuse_prefix(int seq, std::span<const int32_t> tokens) { return 0; }
  // Tells the cache which tokens positions [0, tokens.size()) of `seq` hold, all written, so
  // that its full blocks can be found by later prompts.
  virtual void commit(int seq, std::span<const int32_t> tokens) {}
  // The blocks `seq` holds, in position order from its first block not dropped (paged only; empty
  // otherwise), for the scheduler and the pool view.
  virtual std::span<const int32_t> block_table(int seq) const { return {}; }
  virtual PoolStats pool_stats() const { return {}; }
  // Every block of the pool, by index (paged only; empty otherwise).
  virtual std::vector<BlockState> block_states() const { return {}; }

  virtual size_t bytes_reserved() const = 0;  // memory held for sequences now
  virtual size_t bytes_used() const;          // of which holding live rows
  size_t peak_bytes_reserved() const { return peak_reserved_; }
  // Whether `length` positions could ever fit one sequence (an empty pool's whole budget).
  virtual bool could_fit(int length) const;
  int length(int seq) const { return lengths_[seq]; }
  const KvShape& shape() const { return shape_; }
  CacheStrategy strategy() const { return strategy_; }

 protected:
  KvCache(const KvShape& shape, CacheStrategy strategy);
  // Converts n f32 rows into the storage type at dst.
  void store_rows(uint8_t* dst, const float* src, int n) const;
  void check(int layer, int seq, int pos, int n) const;
  void note_reserved() { peak_reserved_ = std::max(peak_reserved_, bytes_reserved()); }

  KvShape shape_;
  CacheStrategy strategy_;
  std::vector<int> lengths_;  // positions written, per slot
  size_t peak_reserved_ = 0;
};

std::unique_ptr<KvCache> make_kv_cache(CacheStrategy strategy, const KvShape& shape);
std::unique_ptr<KvCache> make_paged_cache(const KvShape& shape);

}  // namespace kvscope
