// The paged KV cache: one pool of blocks of block_size positions, shared by every sequence.
// A sequence holds a block table; it takes a block when it grows into one and gives its blocks
// back when it ends, or, under a sliding window in every layer, as soon as the window has passed
// them (their entries stay in the table as -1, so that it is still indexed by position). With
// prefix reuse, each full block is indexed by a hash chained from its parent block's hash and its
// own tokens; blocks are reference-counted, and unreferenced indexed blocks wait in a
// least-recently-used list until the pool needs them.
#include <algorithm>
#include <list>
#include <unordered_map>

#include "core/error.h"
#include "kvcache/kv_cache.h"

namespace kvscope {
namespace {

constexpr uint64_t kRootHash = 14695981039346656037ull;

uint64_t chain_hash(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = parent;
  for (int32_t t : tokens) {
    h ^= static_cast<uint32_t>(t) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 1099511628211ull;
  }
  return h;
}

class PagedCache : public KvCache {
 public:
  explicit PagedCache(const KvShape& shape)
      : KvCache(shape, shape.prefix_cache ? CacheStrategy::kPagedPrefix : CacheStrategy::kPaged),
        block_bytes_(static_cast<size_t>(shape.block_size) * shape.row_bytes()),
        seqs_(static_cast<size_t>(shape.n_seqs)) {
    if (shape.block_size < 1)
      fail("the KV block size must be at least 1, not {}", shape.block_size);
    n_blocks_ = static_cast<int>(shape.budget() / (2 * shape.n_layers * block_bytes_));
    if (n_blocks_ < 1)
      fail("a KV budget of {} bytes holds no block of {} positions ({} bytes)", shape.budget(),
           shape.block_size, 2 * shape.n_layers * block_bytes_);
    layer_bytes_ = static_cast<size_t>(n_blocks_) * block_bytes_;
    pool_.reset(new uint8_t[2 * shape.n_layers * layer_bytes_]);  // untouched until written
    blocks_.resize(static_cast<size_t>(n_blocks_));
    for (int b = n_blocks_ - 1; b >= 0; --b) free_.push_back(b);
  }

  bool reserve(int seq, int length) override {
    check(0, seq, 0, length);
    std::vector<int32_t>& table = seqs_[seq].table;
    const int needed =
        (length + shape_.block_size - 1) / shape_.block_size - static_cast<int>(table.size());
    if (needed <= 0) return true;
    if (static_cast<size_t>(needed) > free_.size() + lru_.size()) return false;
    for (int i = 0; i < needed; ++i) table.push_back(take_block());
    note_reserved();
    return true;
  }

  void write(int layer, int seq, int pos, int n, const float* k, const float* v) override {
    check(layer, seq, pos, n);
    const Seq& s = seqs_[seq];
    const std::vector<int32_t>& table = s.table;
    if (pos < s.dropped * shape_.block_size ||
        pos + n > static_cast<int>(table.size()) * shape_.block_size)
      fail("KV cache: sequence {} writes positions [{}, {}) outside its blocks", seq, pos, pos + n);
    const size_t row = shape_.row_bytes(), kv_dim = static_cast<size_t>(shape_.kv_dim);
    for (int done = 0; done < n;) {
      const int p = pos + done, b = table[p / shape_.block_size];
      if (blocks_[b].refs != 1)
        fail("KV cache: sequence {} writes into block {}, which is shared", seq, b);
      const int count = std::min(n - done, shape_.block_size - p % shape_.block_size);
      const size_t offset =
          static_cast<size_t>(b) * block_bytes_ + static_cast<size_t>(p % shape_.block_size) * row;
      store_rows(k_base(layer) + offset, k + done * kv_dim, count);
      store_rows(v_base(layer) + offset, v + done * kv_dim, count);
      done += count;
    }
    if (layer == shape_.n_layers - 1) lengths_[seq] = std::max(lengths_[seq], pos + n);
  }

  CachedRows view(int layer, int seq) const override {
    return {k_base(layer),      v_base(layer),     seqs_[seq].table.data(), block_bytes_,
            shape_.row_bytes(), shape_.block_size, kv_dtype(shape_.type)};
  }

  void release(int seq) override {
    Seq& s = seqs_[seq];
    // The last blocks first, so that they are evicted before the prefix they extend.
    for (int i = static_cast<int>(s.table.size()) - 1; i >= s.dropped; --i) give_back(s.table[i]);
    s = {};
    lengths_[seq] = 0;
  }

  // A dropped block shared with another sequence stays with it; an indexed one stays cached, its
  // rows intact, for prompts that share its whole prefix.
  void drop_before(int seq, int pos) override {
    Seq& s = seqs_[seq];
    const int end = std::min(pos / shape_.block_size, static_cast<int>(s.table.size()));
    for (; s.dropped < end; ++s.dropped) {
      give_back(s.table[s.dropped]);
      s.table[s.dropped] = -1;
    }
  }

  int reuse_prefix(int seq, std::span<const int32_t> tokens) override {
    Seq& s = seqs_[seq];
    if (!shape_.prefix_cache || !s.table.empty() || tokens.empty()) return 0;
    const size_t bs = static_cast<size_t>(shape_.block_size), limit = (tokens.size() - 1) / bs;
    for (size_t i = 0; i < limit; ++i) {
      const std::span<const int32_t> part = tokens.subspan(i * bs, bs);
      const uint64_t h = chain_hash(s.last_hash, part);
      const auto found = index_.find(h);
      if (found == index_.end()) break;
      Block& block = blocks_[found->second];
      if (block.parent != s.last_hash ||
          !std::equal(part.begin(), part.end(), block.tokens.begin()))
        break;
      if (block.refs++ == 0) {
        lru_.erase(block.lru);
        ++blocks_used_;
      }
      s.table.push_back(found->second);
      s.last_hash = h;
      ++s.committed;
    }
    lengths_[seq] = s.committed * shape_.block_size;
    hit_tokens_ += lengths_[seq];
    return lengths_[seq];
  }

  void commit(int seq, std::span<const int32_t> tokens) override {
    if (!shape_.prefix_cache) return;
    Seq& s = seqs_[seq];
    const size_t bs = static_cast<size_t>(shape_.block_size);
    const size_t full = std::min(tokens.size() / bs, s.table.size());
    for (size_t i = static_cast<size_t>(s.committed); i < full; ++i) {
      const std::span<const int32_t> part = tokens.subspan(i * bs, bs);
      const uint64_t h = chain_hash(s.last_hash, part);
      // An equal block may be indexed already (two prompts computed it at once): keep that one.
      if (index_.emplace(h, s.table[i]).second) {
        Block& block = blocks_[s.table[i]];
        block.indexed = true;
        block.hash = h;
        block.parent = s.last_hash;
        block.tokens.assign(part.begin(), part.end());
      }
      s.last_hash = h;
      s.committed = static_cast<int>(i) + 1;
    }
  }

  std::span<const int32_t> block_table(int seq) const override {
    return std::span<const int32_t>(seqs_[seq].table).subspan(seqs_[seq].dropped);
  }

  PoolStats pool_stats() const override {
    PoolStats p;
    p.blocks_total = n_blocks_;
    p.blocks_used = blocks_used_;
    p.blocks_cached = static_cast<int64_t>(lru_.size());
    p.prefix_hit_tokens = hit_tokens_;
    p.evictions = evictions_;
    return p;
  }

  std::vector<BlockState> block_states() const override {
    std::vector<BlockState> out;
    for (const Block& b : blocks_) out.push_back({b.refs, b.refs == 0 && b.indexed, b.evictions});
    return out;
  }

  size_t bytes_reserved() const override {
    return static_cast<size_t>(blocks_used_) * 2 * static_cast<size_t>(shape_.n_layers) *
           block_bytes_;
  }

  // Positions held, each shared block counted once.
  size_t bytes_used() const override {
    std::vector<int> filled(blocks_.size(), 0);
    for (size_t seq = 0; seq < seqs_.size(); ++seq)
      for (auto i = static_cast<size_t>(seqs_[seq].dropped); i < seqs_[seq].table.size(); ++i) {
        const int rows = std::clamp(lengths_[seq] - static_cast<int>(i) * shape_.block_size, 0,
                                    shape_.block_size);
        filled[seqs_[seq].table[i]] = std::max(filled[seqs_[seq].table[i]], rows);
      }
    size_t rows = 0;
    for (int f : filled) rows += static_cast<size_t>(f);
    return rows * shape_.bytes_per_token();
  }

  bool could_fit(int length) const override {
    return (length + shape_.block_size - 1) / shape_.block_size <= n_blocks_;
  }

 private:
  struct Block {
    int refs = 0;
    bool indexed = false;  // in index_ under `hash`
    uint64_t hash = 0, parent = 0;
    std::vector<int32_t> tokens;  // what an indexed block holds, to verify a hit
    std::list<int32_t>::iterator lru;
    int64_t evictions = 0;
  };
  struct Seq {
    std::vector<int32_t> table;
    int dropped = 0;    // leading blocks given back behind a sliding window (-1 in the table)
    int committed = 0;  // leading blocks whose hashes are known
    uint64_t last_hash = kRootHash;
  };

  int32_t take_block() {
    int32_t b;
    if (!free_.empty()) {
      b = free_.back();
      free_.pop_back();
    } else {
      b = lru_.front();
      lru_.pop_front();
      index_.erase(blocks_[b].hash);
      const int64_t evicted = blocks_[b].evictions + 1;
      blocks_[b] = {};
      blocks_[b].evictions = evicted;
      ++evictions_;
    }
    blocks_[b].refs = 1;
    ++blocks_used_;
    return b;
  }
  void give_back(int32_t b) {
    Block& block = blocks_[b];
    if (--block.refs > 0) return;
    --blocks_used_;
    if (block.indexed)
      block.lru = lru_.insert(lru_.end(), b);
    else
      free_.push_back(b);
  }
  uint8_t* k_base(int layer) const {
    return pool_.get() + 2 * static_cast<size_t>(layer) * layer_bytes_;
  }
  uint8_t* v_base(int layer) const { return k_base(layer) + layer_bytes_; }

  size_t block_bytes_;  // one layer's K (or V) rows of one block
  size_t layer_bytes_ = 0;
  int n_blocks_ = 0;
  std::unique_ptr<uint8_t[]> pool_;  // [layer][K|V][block][position][kv_dim]
  std::vector<Block> blocks_;
  std::vector<int32_t> free_;  // never indexed, or evicted
  std::list<int32_t> lru_;     // unreferenced indexed blocks, least recently used first
  std::unordered_map<uint64_t, int32_t> index_;
  std::vector<Seq> seqs_;
  int64_t blocks_used_ = 0;  // referenced by at least one sequence
  int64_t hit_tokens_ = 0, evictions_ = 0;
};

}  // namespace

std::unique_ptr<KvCache> make_paged_cache(const KvShape& shape) {
  return std::make_unique<PagedCache>(shape);
}

}  // namespace kvscope
