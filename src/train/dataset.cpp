#include "train/dataset.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "tokenizer/chat_template.h"

namespace kvscope::train {
namespace {

using nlohmann::json;

std::string jsonl_text(const json& line, const std::string& where) {
  if (line.is_object() && line.contains("text") && line["text"].is_string())
    return line["text"].get<std::string>();
  if (!line.is_object() || !line.contains("messages") || !line["messages"].is_array())
    fail(
        "{}: expected {{\"messages\": [{{\"role\": ..., \"content\": ...}}]}} or {{\"text\": ...}}",
        where);
  std::vector<ChatMessage> messages;
  for (const json& m : line["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      fail("{}: a message lacks its 'role' or 'content' string", where);
    messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  if (messages.empty()) fail("{}: 'messages' is empty", where);
  static const ChatTemplate chatml(builtin_template_source(BuiltinTemplate::kChatMl), "", "");
  return chatml.render(messages, false);
}

}  // namespace

std::vector<std::string> read_texts(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the training data", path);
  std::vector<std::string> texts;
  if (!path.ends_with(".jsonl")) {
    std::stringstream all;
    all << in.rdbuf();
    if (all.str().empty()) fail("{}: the training data is empty", path);
    return {all.str()};
  }
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      fail("{}: not valid JSON (byte {})", where, e.byte);
    }
    texts.push_back(jsonl_text(j, where));
  }
  if (texts.empty()) fail("{}: no examples in the file", path);
  return texts;
}

std::vector<Tokens> tokenize_all(const Tokenizer& tokenizer,
                                 const std::vector<std::string>& texts) {
  std::vector<Tokens> out;
  out.reserve(texts.size());
  for (const std::string& t : texts) out.push_back(tokenizer.encode(t, true, false));
  return out;
}

Split split_examples(std::vector<Tokens> examples, int every) {
  Split s;
  const bool hold = examples.size() >= static_cast<size_t>(2 * every);
  for (size_t i = 0; i < examples.size(); ++i)
    (hold && i % every == static_cast<size_t>(every - 1) ? s.held_out : s.train)
        .push_back(std::move(examples[i]));
  return s;
}

int64_t Batch::real_tokens() const {
  int64_t n = 0;
  for (int32_t t : targets) n += t >= 0;
  return n;
}

std::vector<Batch> make_batches(const std::vector<Tokens>& examples,
                                const std::vector<size_t>& order, int rows, int seq_len,
                                int32_t pad) {
  const size_t width = static_cast<size_t>(seq_len) + 1;
  std::vector<Tokens> packed;  // rows of up to seq_len + 1 tokens
  for (size_t index : order) {
    const Tokens& e = examples[index];
    // Pieces of a long example overlap by one token, so that every token is a target once.
    for (size_t at = 0; at + 1 < e.size() || at == 0; at += width - 1) {
      const size_t n = std::min(width, e.size() - at);
      if (packed.empty() || packed.back().size() + n > width || at > 0) packed.emplace_back();
      packed.back().insert(packed.back().end(), e.begin() + at, e.begin() + at + n);
      if (at + n == e.size()) break;
    }
  }
  std::vector<Batch> batches;
  for (size_t first = 0; first < packed.size(); first += rows) {
    Batch b{rows, seq_len, std::vector<int32_t>(static_cast<size_t>(rows) * seq_len, pad),
            std::vector<int32_t>(static_cast<size_t>(rows) * seq_len, -1)};
    for (size_t r = 0; r < static_cast<size_t>(rows) && first + r < packed.size(); ++r) {
      const Tokens& row = packed[first + r];
      for (size_t t = 0; t + 1 < row.size(); ++t) {
        b.tokens[r * seq_len + t] = row[t];
        b.targets[r * seq_len + t] = row[t + 1];
      }
    }
    batches.push_back(std::move(b));
  }
  return batches;
}

std::vector<size_t> epoch_order(size_t n, uint64_t seed, int epoch) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed * 1000003u + static_cast<uint64_t>(epoch));
  // Fisher-Yates on raw draws: the same order with every standard library.
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

}  // namespace kvscope::train
