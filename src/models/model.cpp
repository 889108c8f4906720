#include "models/model.h"

#include <fmt/format.h>

#include "core/error.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/packed.h"
#include "kernels/ref/dequantize.h"

namespace kvscope {
namespace {

// The matrices of a layer that a token is multiplied by (null where the architecture has none).
constexpr const TensorView* LayerWeights::*kLayerMatrices[] = {
    &LayerWeights::wq, &LayerWeights::wk,     &LayerWeights::wv,   &LayerWeights::wqkv,
    &LayerWeights::wo, &LayerWeights::w_gate, &LayerWeights::w_up, &LayerWeights::w_down};

class WeightLoader {
 public:
  WeightLoader(const ModelFile& file, std::deque<TensorView>& parts) : file_(file), parts_(parts) {}

  // A matrix of `rows` outputs over `cols` inputs.
  const TensorView* matrix(const std::string& name, int64_t cols, int64_t rows) const {
    const TensorView& t = file_.require(name);
    if (t.n_dims > 2 || t.cols() != cols || t.rows() != rows)
      fail("{}: tensor '{}' is {}, expected [{}, {}]", file_.path, name, shape_string(t), cols,
           rows);
    return &t;
  }

  // Rows [first, first + count) of a matrix of `rows` outputs: one of the projections a fused
  // tensor holds, as a view of its rows.
  const TensorView* part(const std::string& name, int64_t cols, int64_t rows, int64_t first,
                         int64_t count) const {
    TensorView& view = parts_.emplace_back(*matrix(name, cols, rows));
    view.data = view.row(first);
    view.shape = {cols, count, 1, 1};
    view.n_dims = 2;
    return &view;
  }

  Vector vector(const std::string& name, int64_t n) const {
    const TensorView& t = file_.require(name);
    if (t.elements() != n)
      fail("{}: tensor '{}' is {}, expected [{}]", file_.path, name, shape_string(t), n);
    Vector out(static_cast<size_t>(n));
    ref::dequantize_row(t.type, t.data, out.data(), n);
    return out;
  }

  // A norm's weights as the forward pass multiplies by them (Gemma's folders store them less 1).
  Vector norm(const std::string& name, int64_t n, const ModelConfig& c) const {
    Vector out = vector(name, n);
    for (float& x : out) x += c.norm_weight_offset;
    return out;
  }

 private:
  const ModelFile& file_;
  std::deque<TensorView>& parts_;
};

LayerWeights load_layer(const WeightLoader& w, const ModelConfig& c, int index) {
  const std::string p = fmt::format("blk.{}.", index);
  LayerWeights l;
  l.attn_norm = w.norm(p + "attn_norm.weight", c.dim, c);
  l.ffn_norm = w.norm(p + "ffn_norm.weight", c.dim, c);
  l.wo = w.matrix(p + "attn_output.weight", c.q_dim(), c.dim);
  l.w_down = w.matrix(p + "ffn_down.weight", c.ffn_dim, c.dim);
  if (c.arch == Architecture::kGpt2) {
    l.w_up = w.matrix(p + "ffn_up.weight", c.dim, c.ffn_dim);
    l.attn_norm_bias = w.vector(p + "attn_norm.bias", c.dim);
    l.ffn_norm_bias = w.vector(p + "ffn_norm.bias", c.dim);
    l.wqkv = w.matrix(p + "attn_qkv.weight", c.dim, 3 * c.dim);
    l.qkv_bias = w.vector(p + "attn_qkv.bias", 3 * c.dim);
    l.wo_bias = w.vector(p + "attn_output.bias", c.dim);
    l.up_bias = w.vector(p + "ffn_up.bias", c.ffn_dim);
    l.down_bias = w.vector(p + "ffn_down.bias", c.dim);
    return l;
  }
  if (c.fused_projections) {
    const std::string qkv = p + "attn_qkv.weight", up = p + "ffn_up.weight";
    const int64_t q = c.q_dim(), kv = c.kv_dim(), rows = q + 2 * kv;
    l.wq = w.part(qkv, c.dim, rows, 0, q);
    l.wk = w.part(qkv, c.dim, rows, q, kv);
    l.wv = w.part(qkv, c.dim, rows, q + kv, kv);
    l.w_gate = w.part(up, c.dim, 2 * c.ffn_dim, 0, c.ffn_dim);
    l.w_up = w.part(up, c.dim, 2 * c.ffn_dim, c.ffn_dim, c.ffn_dim);
  } else {
    l.wq = w.matrix(p + "attn_q.weight", c.dim, c.q_dim());
    l.wk = w.matrix(p + "attn_k.weight", c.dim, c.kv_dim());
    l.wv = w.matrix(p + "attn_v.weight", c.dim, c.kv_dim());
    l.w_gate = w.matrix(p + "ffn_gate.weight", c.dim, c.ffn_dim);
    l.w_up = w.matrix(p + "ffn_up.weight", c.dim, c.ffn_dim);
  }
  if (c.qkv_bias) {
    l.q_bias = w.vector(p + "attn_q.bias", c.q_dim());
    l.k_bias = w.vector(p + "attn_k.bias", c.kv_dim());
    l.v_bias = w.vector(p + "attn_v.bias", c.kv_dim());
  }
  if (c.qk_norm) {
    l.q_norm = w.norm(p + "attn_q_norm.weight", c.head_dim, c);
    l.k_norm = w.norm(p + "attn_k_norm.weight", c.head_dim, c);
  }
  if (c.post_norms) {
    l.post_attn_norm = w.norm(p + "post_attention_norm.weight", c.dim, c);
    l.post_ffn_norm = w.norm(p + "post_ffw_norm.weight", c.dim, c);
  }
  return l;
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path) {
  auto model = std::make_unique<Model>();
  model->file_ = open_model_file(path);
  const ModelFile& file = *model->file_;
  model->config_ = read_config(file);
  const ModelConfig& c = model->config_;
  const WeightLoader w(file, model->parts_);

  model->token_embedding_ = w.matrix("token_embd.weight", c.dim, c.vocab_size);
  if (c.arch == Architecture::kGpt2)
    model->position_embedding_ = w.matrix("position_embd.weight", c.dim, c.context_length);
  for (int i = 0; i < c.n_layers; ++i) model->layers_.push_back(load_layer(w, c, i));
  model->output_norm_ = w.norm("output_norm.weight", c.dim, c);
  if (c.norm == NormKind::kLayerNorm)
    model->output_norm_bias_ = w.vector("output_norm.bias", c.dim);
  model->output_ =
      c.tied_embeddings ? model->token_embedding_ : w.matrix("output.weight", c.dim, c.vocab_size);
  if (kernels().dot_packed != nullptr) model->pack_matrices();
  model->tokenizer_ = Tokenizer::from_metadata(file.meta);
  if (model->tokenizer_->vocab_size() > c.vocab_size)
    fail("{}: the tokenizer has {} tokens but the model only {} embeddings", path,
         model->tokenizer_->vocab_size(), c.vocab_size);
  return model;
}

void Model::pack_matrices() {
  auto pack = [&](const TensorView*& matrix) {
    if (matrix == nullptr) return;
    std::vector<uint8_t> bytes = pack_rows(*matrix);
    if (bytes.empty()) return;
    TensorView& view = packed_views_.emplace_back(*matrix);
    view.packed = bytes.data();
    packed_.push_back(std::move(bytes));
    matrix = &view;
  };
  for (LayerWeights& l : layers_)
    for (auto matrix : kLayerMatrices) pack(l.*matrix);
  // A Q8_0 output head runs the wide kernel (16-bit activations), which reads rows as stored. The
  // token embedding keeps its own view either way: its rows are looked up, not multiplied.
  if (output_->type != DType::kQ8_0) pack(output_);
}

size_t Model::packed_bytes() const {
  size_t bytes = 0;
  for (const auto& p : packed_) bytes += p.size();
  return bytes;
}

std::vector<const TensorView*> Model::matrices() const {
  std::vector<const TensorView*> out = {output_};
  for (const LayerWeights& l : layers_)
    for (auto matrix : kLayerMatrices)
      if (l.*matrix != nullptr) out.push_back(l.*matrix);
  return out;
}

size_t Model::weight_bytes_per_token() const {
  size_t bytes = 0;
  for (const TensorView* t : matrices())
    bytes += t->packed ? kvscope::packed_bytes(t->type, t->rows(), t->cols()) : t->bytes();
  return bytes;
}

int64_t Model::matmul_weights() const {
  int64_t weights = 0;
  for (const TensorView* t : matrices()) weights += t->elements();
  return weights;
}

}  // namespace kvscope
