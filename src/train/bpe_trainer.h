#pragma once
// A byte-level BPE vocabulary trained on the training text itself, as GPT-2's is: the text is
// split by GPT-2's pre-tokenizer regex, every byte is a token to start with, and the most
// frequent adjacent pair of tokens is merged, again and again, until the vocabulary is full.
// Special tokens (the chat template's markers) are never split or merged.
#include <cstdint>
#include <string>
#include <vector>

namespace kvscope::train {

struct BpeVocab {
  std::vector<std::string> tokens;                          // by id, in GPT-2's byte-level spelling
  std::vector<std::pair<std::string, std::string>> merges;  // in the order they apply
  int n_special = 0;                                        // tokens [0, n_special) are special
};

// The chat markers every trained vocabulary starts with: end of text, ChatML's turn markers.
const std::vector<std::string>& special_tokens();

// Merges until `vocab_size` tokens (or until no pair occurs twice). Ties between equally frequent
// pairs go to the pair whose tokens come first in byte order, so the result depends only on the
// texts.
BpeVocab train_bpe(const std::vector<std::string>& texts, int vocab_size);

}  // namespace kvscope::train
