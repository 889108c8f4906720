#include "train/bpe_trainer.h"

#include <map>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/pretokenizer.h"

namespace kvscope::train {
namespace {

using Word = std::vector<int32_t>;  // token ids

// Every word of the texts (bytes as their first tokens) and how often it occurs. Special
// tokens are cut out of the text first, so that their text never takes part.
std::map<Word, int64_t> count_words(const std::vector<std::string>& texts) {
  const PreTokenizer pre("gpt2", "the trained tokenizer");
  const int32_t first_byte = static_cast<int32_t>(special_tokens().size());
  std::map<Word, int64_t> words;
  auto add_plain = [&](std::string_view plain) {
    for (std::string_view piece : pre.split(plain)) {
      Word w;
      for (char ch : piece) w.push_back(first_byte + static_cast<unsigned char>(ch));
      ++words[w];
    }
  };
  for (const std::string& text : texts) {
    size_t at = 0;
    while (at < text.size()) {
      size_t next = text.size(), length = 0;
      for (const std::string& s : special_tokens())
        if (size_t found = text.find(s, at); found < next) next = found, length = s.size();
      add_plain(std::string_view(text).substr(at, next - at));
      at = next + length;
    }
  }
  return words;
}

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// The most frequent pair; ties broken by the pair's text.
std::pair<int32_t, int32_t> best_pair(const std::map<Word, int64_t>& words,
                                      const std::vector<std::string>& tokens, int64_t& count) {
  std::unordered_map<uint64_t, int64_t> counts;
  for (const auto& [w, n] : words)
    for (size_t i = 0; i + 1 < w.size(); ++i) counts[pair_key(w[i], w[i + 1])] += n;
  count = 0;
  std::pair<int32_t, int32_t> best{-1, -1};
  for (const auto& [key, n] : counts) {
    const auto a = static_cast<int32_t>(key >> 32), b = static_cast<int32_t>(key & 0xffffffffu);
    const bool better =
        n > count || (n == count && std::tie(tokens[a], tokens[b]) <
                                        std::tie(tokens[best.first], tokens[best.second]));
    if (better) count = n, best = {a, b};
  }
  return best;
}

Word merge_word(const Word& w, std::pair<int32_t, int32_t> pair, int32_t result) {
  Word out;
  for (size_t i = 0; i < w.size(); ++i) {
    if (i + 1 < w.size() && w[i] == pair.first && w[i + 1] == pair.second) {
      out.push_back(result);
      ++i;
    } else {
      out.push_back(w[i]);
    }
  }
  return out;
}

}  // namespace

const std::vector<std::string>& special_tokens() {
  static const std::vector<std::string> kSpecial = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  return kSpecial;
}

BpeVocab train_bpe(const std::vector<std::string>& texts, int vocab_size) {
  BpeVocab v;
  v.tokens = special_tokens();
  v.n_special = static_cast<int>(v.tokens.size());
  if (vocab_size < v.n_special + 256)
    fail("vocab_size {} is too small for a byte-level vocabulary (at least {})", vocab_size,
         v.n_special + 256);
  for (const std::string& c : byte_level_chars()) v.tokens.push_back(c);
  std::unordered_map<std::string, int32_t> ids;
  for (size_t i = 0; i < v.tokens.size(); ++i) ids[v.tokens[i]] = static_cast<int32_t>(i);
  std::map<Word, int64_t> words = count_words(texts);
  while (static_cast<int>(v.tokens.size()) < vocab_size) {
    int64_t count = 0;
    const auto pair = best_pair(words, v.tokens, count);
    if (count < 2) break;
    const std::string joined = v.tokens[pair.first] + v.tokens[pair.second];
    auto [it, fresh] = ids.emplace(joined, static_cast<int32_t>(v.tokens.size()));
    if (fresh) v.tokens.push_back(joined);
    v.merges.emplace_back(v.tokens[pair.first], v.tokens[pair.second]);
    std::map<Word, int64_t> merged;
    for (const auto& [w, n] : words) merged[merge_word(w, pair, it->second)] += n;
    words = std::move(merged);
  }
  return v;
}

}  // namespace kvscope::train
