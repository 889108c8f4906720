#pragma once
// Forward and backward of the row-wise operations of a Llama block, side by side. Rows are
// independent, so each is computed by one thread; sums over rows (a norm's weight gradient, the
// embedding's) run over the rows in order, so results do not depend on the thread count.
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu/dispatch.h"

namespace kvscope::train {

// out[t] = table[ids[t]], rows of `dim`.
void embedding_forward(const float* table, const int32_t* ids, int64_t n, int64_t dim, float* out);
// dtable[ids[t]] += dout[t]
void embedding_backward(ThreadPool& pool, const float* dout, const int32_t* ids, int64_t n,
                        int64_t dim, float* dtable);

// out = x / rms(x) * weight; rstd[t] = 1 / rms(x[t]) is kept for the backward.
void rms_norm_forward(ThreadPool& pool, const float* x, const float* weight, int64_t n, int64_t dim,
                      float eps, float* out, float* rstd);
// dx += ∂loss/∂x, dweight += ∂loss/∂weight.
void rms_norm_backward(ThreadPool& pool, const float* dout, const float* x, const float* weight,
                       const float* rstd, int64_t n, int64_t dim, float* dx, float* dweight);

// Rotary position tables in Hugging Face's order (dimension i pairs with i + head_dim / 2):
// cos and sin of position × base^(-2i / head_dim), [positions][head_dim / 2].
struct RopeTable {
  RopeTable(int positions, int head_dim, float base);
  int half = 0;
  std::vector<float> cos, sin;
};
// Rotates each row's `heads` heads by its position (row % seq_len); `inverse` rotates back,
// which is the backward of the rotation.
void rope_apply(ThreadPool& pool, const RopeTable& table, float* x, int64_t n, int seq_len,
                int heads, bool inverse);

// The elementwise ones below run on the instruction set the kernels chose (kernels();
// KVSCOPE_ISA forces one) or on `isa`; the scalar one is the definition, the others compute
// eˣ by a polynomial (within 1e-7) and sum in vector lanes.

// out = silu(gate) · up
void swiglu_forward(ThreadPool& pool, const float* gate, const float* up, int64_t n, float* out,
                    Isa isa = kernels().isa);
void swiglu_backward(ThreadPool& pool, const float* dout, const float* gate, const float* up,
                     int64_t n, float* dgate, float* dup, Isa isa = kernels().isa);

// Mean cross-entropy of rows of logits against targets (a target < 0 is not counted). Turns
// `logits` into ∂loss/∂logits in place. Returns the mean loss; `counted` gets the rows counted.
double cross_entropy(ThreadPool& pool, float* logits, const int32_t* targets, int64_t n,
                     int64_t vocab, int64_t* counted, Isa isa = kernels().isa);
// The same loss without the gradient (evaluation): `logits` is left as scratch.
double cross_entropy_loss(ThreadPool& pool, float* logits, const int32_t* targets, int64_t n,
                          int64_t vocab, int64_t* counted, Isa isa = kernels().isa);

}  // namespace kvscope::train
