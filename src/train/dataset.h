#pragma once
// Training text: conversations from a JSONL file ({"messages": [{"role", "content"}, ...]} or
// {"text": ...} a line) rendered in the chat template, or any other file as plain text; their
// tokens packed into rows of whole examples for batches.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kvscope::train {

// One text per JSONL line, or the whole file. Error naming the file and line when unreadable.
std::vector<std::string> read_texts(const std::string& path);

using Tokens = std::vector<int32_t>;
std::vector<Tokens> tokenize_all(const Tokenizer& tokenizer, const std::vector<std::string>& texts);

// Every `every`-th example is held out for evaluation (none when there are fewer than 2 · every).
struct Split {
  std::vector<Tokens> train, held_out;
};
Split split_examples(std::vector<Tokens> examples, int every = 20);

// A batch of rows: row r predicts targets[r][t] after tokens[r][0..t]; targets < 0 are padding.
struct Batch {
  int rows = 0, seq_len = 0;
  std::vector<int32_t> tokens, targets;  // [rows][seq_len]
  int64_t real_tokens() const;           // targets counted
};

// Packs the examples, in the given order, into rows of seq_len + 1 tokens (each row starts with
// an example; an example that does not fit in a row is cut into rows), then groups them into
// batches of `rows` (the last batch padded). `pad` fills the rest of a row.
std::vector<Batch> make_batches(const std::vector<Tokens>& examples,
                                const std::vector<size_t>& order, int rows, int seq_len,
                                int32_t pad);
// The examples' order for an epoch: a shuffle determined by the seed and the epoch.
std::vector<size_t> epoch_order(size_t n, uint64_t seed, int epoch);

}  // namespace kvscope::train
