#include "tokenizer/bpe_tokenizer.h"

#include <functional>
#include <queue>

#include "core/error.h"
#include "tokenizer/metaspace.h"
#include "tokenizer/utf8.h"

namespace kvscope {
namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others for
// U+0100 onwards in byte order, so that every byte is a visible character.
uint32_t byte_code_point(int b, int& next_extra) {
  const bool printable =
      (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  return printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + next_extra++);
}

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// The pre-tokenizer's name; a Gemma 4 vocabulary always has its own, as in llama.cpp.
std::string pre_name(const Metadata& meta) {
  if (meta.get_string("tokenizer.ggml.model") == "gemma4") return "gemma4";
  return meta.get_string("tokenizer.ggml.pre", "default");
}

// A piece of a word being merged: a token (-1 for a character the vocabulary lacks, which never
// merges: `text` is that character), linked to its neighbours by index; kGone marks a piece
// merged into the one on its left.
struct Piece {
  int32_t id;
  int prev;
  int next;
  std::string_view text;
};
constexpr int32_t kGone = -2;

// A pair that may merge. The pieces may have changed since it was queued: it holds only while
// the left piece and its right neighbour are still the tokens it names.
struct Candidate {
  int rank;
  int left;
  int32_t left_id, right_id, result;
  // The queue pops the lowest rank first, then the leftmost pair, as llama.cpp and Hugging Face do.
  bool operator>(const Candidate& o) const {
    return rank != o.rank ? rank > o.rank : left > o.left;
  }
};

}  // namespace

std::array<std::string, 256> byte_level_chars() {
  std::array<std::string, 256> chars;
  int extra = 0;
  for (int b = 0; b < 256; ++b) chars[b] = encode_utf8(byte_code_point(b, extra));
  return chars;
}

// Llama 3's family adds BOS when the file does not say.
BpeTokenizer::BpeTokenizer(const Metadata& meta)
    : VocabTokenizer(meta, pre_tokenizer_ignores_merges(pre_name(meta))),
      byte_level_(meta.get_string("tokenizer.ggml.model") != "gemma4"),
      pre_name_(pre_name(meta)),
      pre_(pre_name_, meta.source()),
      ignore_merges_(pre_tokenizer_ignores_merges(pre_name_)) {
  byte_chars_ = byte_level_chars();
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const uint32_t cp = byte_code_point(b, extra);
    if (char_bytes_.size() <= cp) char_bytes_.resize(cp + 1, -1);
    char_bytes_[cp] = b;
  }
  read_merges(meta);
}

// Each merge is "left right". Both parts and their concatenation must be tokens, as Hugging
// Face's BPE requires: a merge naming anything else is a broken file.
void BpeTokenizer::read_merges(const Metadata& meta) {
  const std::vector<std::string> merges = meta.get_strings("tokenizer.ggml.merges");
  merges_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string_view merge = merges[i];
    const size_t space = merge.find(' ', 1);  // from 1, as llama.cpp: the left part may be " "
    if (space == std::string_view::npos)
      fail("{}: tokenizer.ggml.merges[{}] = '{}' is not two tokens separated by a space", source_,
           i, merges[i]);
    const std::string left_text(merge.substr(0, space)), right_text(merge.substr(space + 1));
    auto token = [&](const std::string& part) {
      const int32_t id = find(part);
      if (id < 0)
        fail("{}: tokenizer.ggml.merges[{}] = '{}' names '{}', which is not in the vocabulary",
             source_, i, merges[i], part);
      return id;
    };
    const int32_t left = token(left_text), right = token(right_text);
    const int32_t result = token(left_text + right_text);
    // A pair listed twice keeps its first (lowest) rank.
    merges_.emplace(pair_key(left, right), Merge{static_cast<int>(i), result});
  }
}

const BpeTokenizer::Merge* BpeTokenizer::find_merge(int32_t left, int32_t right) const {
  if (left < 0 || right < 0) return nullptr;
  auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

std::string BpeTokenizer::token_bytes(int32_t id) const {
  if (!byte_level_) return metaspace_token_bytes(id);
  const std::string& text = token_text(id);
  if (type(id) != kNormal) return text;  // control and user-defined tokens stand for their text
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const size_t begin = i;
    const uint32_t cp = next_code_point(text, i);
    if (cp < char_bytes_.size() && char_bytes_[cp] >= 0)
      out += static_cast<char>(char_bytes_[cp]);
    else
      out.append(text, begin, i - begin);  // not a byte's character: keep it as it is
  }
  return out;
}

void BpeTokenizer::encode_plain(std::string_view text, bool run_start,
                                std::vector<int32_t>& out) const {
  const std::string escaped = byte_level_ ? std::string() : escape_spaces(text);
  std::string mapped;
  for (std::string_view word : pre_.split(byte_level_ ? text : std::string_view(escaped))) {
    if (!byte_level_) {
      encode_word(word, out);
      continue;
    }
    mapped.clear();
    for (char c : word) mapped += byte_chars_[static_cast<unsigned char>(c)];
    encode_word(mapped, out);
  }
}

// A character the vocabulary lacks: the unknown token for byte-level BPE (never needed: every
// byte's character is a token), its bytes' <0xNN> tokens otherwise (those there, as llama.cpp).
void BpeTokenizer::push_missing(std::string_view piece, std::vector<int32_t>& out) const {
  if (byte_level_) {
    push_unknown(out);
    return;
  }
  for (char c : piece)
    if (const int32_t id = byte_token(static_cast<unsigned char>(c)); id >= 0) out.push_back(id);
}

// Merges the pair of lowest rank until no pair has a merge, with a priority queue of candidate
// pairs over a linked list of pieces: O(n log n) in the word's length.
void BpeTokenizer::encode_word(std::string_view mapped, std::vector<int32_t>& out) const {
  if (mapped.empty()) return;
  // Gemma 4's newlines are tokens of their own, without merging, in llama.cpp.
  const bool newlines = !byte_level_ && mapped.find_first_not_of('\n') == std::string_view::npos;
  if (ignore_merges_ || newlines) {
    if (const int32_t whole = find(mapped); whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  std::vector<Piece> pieces;
  for (size_t i = 0; i < mapped.size();) {
    const size_t len = static_cast<size_t>(utf8_length(static_cast<unsigned char>(mapped[i])));
    const int index = static_cast<int>(pieces.size());
    pieces.push_back({find(mapped.substr(i, len)), index - 1, -1, mapped.substr(i, len)});
    if (index > 0) pieces[index - 1].next = index;
    i += len;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](int left) {
    if (left < 0 || pieces[left].next < 0) return;
    const int32_t left_id = pieces[left].id, right_id = pieces[pieces[left].next].id;
    if (const Merge* m = find_merge(left_id, right_id))
      queue.push({m->rank, left, left_id, right_id, m->result});
  };
  for (int i = 0; i + 1 < static_cast<int>(pieces.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Piece& left = pieces[c.left];
    if (left.id != c.left_id || left.next < 0 || pieces[left.next].id != c.right_id)
      continue;  // stale
    Piece& right = pieces[left.next];
    left.id = c.result;
    left.next = right.next;
    if (right.next >= 0) pieces[right.next].prev = c.left;
    right.id = kGone;
    consider(left.prev);
    consider(c.left);
  }
  // The first piece is never merged away: walk the list from it.
  for (int i = 0; i >= 0; i = pieces[i].next) {
    if (pieces[i].id >= 0)
      out.push_back(pieces[i].id);
    else
      push_missing(pieces[i].text, out);
  }
}

}  // namespace kvscope
