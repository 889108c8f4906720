#include "tokenizer/spm_tokenizer.h"

#include <cmath>
#include <limits>
#include <queue>

#include "core/error.h"
#include "tokenizer/metaspace.h"
#include "tokenizer/utf8.h"

namespace kvscope {
namespace {

// A piece of the text being merged: a byte range, linked to its neighbours by index; a length
// of 0 marks a piece merged into the one on its left.
struct Piece {
  size_t begin;
  size_t len;
  int prev;
  int next;
};

// A pair that may merge. It holds only while its two pieces still add up to `len` bytes (pieces
// only grow, so any merge of either since it was queued changes the sum).
struct Candidate {
  float score;
  int left;
  size_t len;
  // The queue pops the highest score first, then the leftmost pair, as SentencePiece does.
  bool operator<(const Candidate& o) const {
    return score != o.score ? score < o.score : left > o.left;
  }
};

}  // namespace

SpmTokenizer::SpmTokenizer(const Metadata& meta)
    : VocabTokenizer(meta, /*add_bos_default=*/true),
      add_space_prefix_(meta.get_bool("tokenizer.ggml.add_space_prefix", true)) {
  if (meta.has("tokenizer.ggml.scores")) {
    // A NaN would break the merge queue's ordering: such a piece never wins.
    for (double s : meta.get_reals("tokenizer.ggml.scores"))
      scores_.push_back(std::isnan(s) ? -std::numeric_limits<float>::infinity()
                                      : static_cast<float>(s));
    if (scores_.size() != tokens_.size())
      fail("{}: tokenizer.ggml.scores has {} entries for {} tokens", source_, scores_.size(),
           tokens_.size());
  } else {
    scores_.assign(tokens_.size(), 0.0f);
  }
}

int32_t SpmTokenizer::piece_token(std::string_view text) const {
  const int32_t id = find(text);
  return id >= 0 && (type(id) == kNormal || type(id) == kUserDefined) ? id : -1;
}

void SpmTokenizer::encode_plain(std::string_view text, bool run_start,
                                std::vector<int32_t>& out) const {
  const std::string escaped =
      std::string(run_start && add_space_prefix_ ? kMetaspace : "") + escape_spaces(text);
  if (!escaped.empty()) merge(escaped, out);
}

// Merges the adjacent pair that makes the best-scoring token until none makes a token, with a
// priority queue of candidate pairs over a linked list of pieces: O(n log n).
void SpmTokenizer::merge(const std::string& escaped, std::vector<int32_t>& out) const {
  std::vector<Piece> pieces;
  for (size_t i = 0; i < escaped.size();) {
    const size_t len = static_cast<size_t>(utf8_length(static_cast<unsigned char>(escaped[i])));
    const int index = static_cast<int>(pieces.size());
    pieces.push_back({i, len, index - 1, -1});
    if (index > 0) pieces[index - 1].next = index;
    i += len;
  }
  std::priority_queue<Candidate> queue;
  auto consider = [&](int left) {
    if (left < 0 || pieces[left].next < 0) return;
    const size_t len = pieces[left].len + pieces[pieces[left].next].len;
    const int32_t id = piece_token(std::string_view(escaped).substr(pieces[left].begin, len));
    if (id >= 0) queue.push({scores_[id], left, len});
  };
  for (int i = 0; i + 1 < static_cast<int>(pieces.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Piece& left = pieces[c.left];
    if (left.len == 0 || left.next < 0 || left.len + pieces[left.next].len != c.len)
      continue;  // stale
    Piece& right = pieces[left.next];
    left.len = c.len;
    left.next = right.next;
    if (right.next >= 0) pieces[right.next].prev = c.left;
    right.len = 0;
    consider(left.prev);
    consider(c.left);
  }
  for (int i = 0; i >= 0; i = pieces[i].next)
    emit(std::string_view(escaped).substr(pieces[i].begin, pieces[i].len), out);
}

// A piece is a token unless it is a single character the vocabulary lacks: that one becomes its
// bytes' tokens, or the unknown token when the vocabulary has no byte tokens for it.
void SpmTokenizer::emit(std::string_view piece, std::vector<int32_t>& out) const {
  if (const int32_t id = piece_token(piece); id >= 0) {
    out.push_back(id);
    return;
  }
  for (char c : piece) {
    if (byte_token(static_cast<unsigned char>(c)) < 0) {
      push_unknown(out);
      return;
    }
  }
  for (char c : piece) out.push_back(byte_token(static_cast<unsigned char>(c)));
}

}  // namespace kvscope
