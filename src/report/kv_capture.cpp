#include "report/kv_capture.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/observer.h"
#include "generate/session.h"
#include "tokenizer/utf8.h"

namespace kvscope::report {
namespace {

// Keeps sequence 0's query rows from the last prompt position on, one per generated token.
class QueryRecorder final : public Observer {
 public:
  explicit QueryRecorder(KvCapture& capture) : capture_(capture) {}
  void on_op(OpKind, int, Clock::time_point, Clock::time_point) override {}
  void on_query(int layer, int seq, int pos, std::span<const float> q) override {
    const int frame = pos - capture_.query_position(0);
    if (seq != 0 || frame < 0 || frame >= capture_.frames) return;
    std::copy(q.begin(), q.end(),
              capture_.queries[layer].begin() + static_cast<ptrdiff_t>(frame) * q.size());
  }

 private:
  KvCapture& capture_;
};

// A token's text as a label: valid UTF-8, with line breaks and tabs made visible.
std::string label(const Tokenizer& tokenizer, int32_t id) {
  std::string out;
  for (char ch : sanitize_utf8(tokenizer.token_bytes(id))) {
    if (ch == '\n')
      out += "↵";
    else if (ch == '\t')
      out += "⇥";
    else
      out += ch;
  }
  return out;
}

}  // namespace

std::span<const float> KvCapture::query(int layer, int head, int frame) const {
  const size_t at = (static_cast<size_t>(frame) * n_heads + head) * head_dim;
  return std::span<const float>(queries[layer]).subspan(at, head_dim);
}

std::span<const float> KvCapture::key(int layer, int head, int position) const {
  const size_t at = (static_cast<size_t>(position) * n_kv_heads + kv_head(head)) * head_dim;
  return std::span<const float>(keys[layer]).subspan(at, head_dim);
}

std::span<const float> KvCapture::value(int layer, int head, int position) const {
  const size_t at = (static_cast<size_t>(position) * n_kv_heads + kv_head(head)) * head_dim;
  return std::span<const float>(values[layer]).subspan(at, head_dim);
}

KvCapture capture_kv(const Model& model, const std::vector<int32_t>& prompt, int new_tokens,
                     int threads) {
  if (prompt.empty()) fail("the prompt is empty");
  if (new_tokens < 1) fail("generate at least one token");
  const ModelConfig& c = model.config();
  KvCapture capture;
  capture.model_name = c.name;
  capture.n_layers = c.n_layers;
  capture.n_heads = c.n_heads;
  capture.n_kv_heads = c.n_kv_heads;
  capture.head_dim = c.head_dim;
  capture.prompt_tokens = static_cast<int>(prompt.size());
  capture.frames = new_tokens;
  capture.positions = capture.prompt_tokens + new_tokens - 1;
  capture.queries.assign(
      c.n_layers, std::vector<float>(static_cast<size_t>(new_tokens) * c.n_heads * c.head_dim));

  QueryRecorder recorder(capture);
  SessionOptions options;
  options.cache = CacheStrategy::kPrealloc;
  options.kv_type = KvType::kF32;
  options.threads = threads;
  options.n_ctx = capture.prompt_tokens + new_tokens;
  options.observer = &recorder;
  Session session(model, options);
  GenerateOptions generate;
  generate.max_new_tokens = new_tokens;
  generate.stop_at_end_token = false;  // exactly one frame per requested token
  const GenerationResult result = session.generate({prompt}, generate);

  if (session.cached_length(0) < capture.positions)
    fail("the cache holds {} positions, expected {}", session.cached_length(0), capture.positions);
  const size_t row = static_cast<size_t>(c.kv_dim());
  for (int layer = 0; layer < c.n_layers; ++layer) {
    const CachedRows rows = session.cached_rows(layer, 0);
    capture.keys.emplace_back(capture.positions * row);
    capture.values.emplace_back(capture.positions * row);
    for (int pos = 0; pos < capture.positions; ++pos) {
      std::memcpy(&capture.keys.back()[pos * row], rows.key(pos), row * sizeof(float));
      std::memcpy(&capture.values.back()[pos * row], rows.value(pos), row * sizeof(float));
    }
  }
  capture.ids = prompt;
  const std::vector<int32_t>& output = result.sequences[0].output;
  capture.ids.insert(capture.ids.end(), output.begin(), output.end());
  for (int32_t id : capture.ids) capture.labels.push_back(label(model.tokenizer(), id));
  return capture;
}

std::vector<float> attention_scores(const KvCapture& capture, int layer, int head, int frame) {
  const std::span<const float> q = capture.query(layer, head, frame);
  const int length = capture.query_position(frame) + 1;
  const float scale = 1.0f / std::sqrt(static_cast<float>(capture.head_dim));
  std::vector<float> scores(length);
  for (int pos = 0; pos < length; ++pos) {
    const std::span<const float> k = capture.key(layer, head, pos);
    float dot = 0;
    for (int i = 0; i < capture.head_dim; ++i) dot += q[i] * k[i];
    scores[pos] = dot * scale;
  }
  const float largest = *std::max_element(scores.begin(), scores.end());
  float sum = 0;
  for (float& s : scores) sum += s = std::exp(s - largest);
  for (float& s : scores) s /= sum;
  return scores;
}

}  // namespace kvscope::report
