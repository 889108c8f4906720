#pragma once
// The f32 matrix products of training: a linear layer's forward and its two backward products.
// Weights are [out][in] row-major, as Hugging Face stores them; activations are [n][in].
// Every output element is one sum over the shared dimension in a fixed order, computed by a
// single thread, so results do not depend on the thread count.
#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/cpu/dispatch.h"

namespace kvscope::train {

// y[n][out] = x[n][in] · w[out][in]ᵀ
void linear_forward(ThreadPool& pool, const float* x, const float* w, int64_t n, int64_t in,
                    int64_t out, float* y);
// dx[n][in] (+)= dy[n][out] · w[out][in]; overwrites dx unless `accumulate`.
void linear_backward_input(ThreadPool& pool, const float* dy, const float* w, int64_t n, int64_t in,
                           int64_t out, float* dx, bool accumulate);
// dw[out][in] += dy[n][out]ᵀ · x[n][in]
void linear_backward_weight(ThreadPool& pool, const float* dy, const float* x, int64_t n,
                            int64_t in, int64_t out, float* dw);

// The product they all share: c[m][n] (+)= Σ_k a(i, k) · b(k, j), where a(i, k) is
// a[i * a_row + k * a_col] and b(k, j) is b[k * b_row + j * b_col] (so transposes are read in
// place), and c(i, j) is c[i * c_row + j]. Each c element sums k in order, from c or from zero.
struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t a_row = 0, a_col = 1;
  const float* b = nullptr;
  int64_t b_row = 0, b_col = 1;
  float* c = nullptr;
  int64_t c_row = 0;
  bool accumulate = false;
};
// On the instruction set the kernels chose (kernels(); KVSCOPE_ISA forces one), or on `isa`.
void gemm(ThreadPool& pool, const GemmArgs& args);
void gemm(ThreadPool& pool, const GemmArgs& args, Isa isa);
// On the calling thread alone, for callers already inside a pool's job.
void gemm(const GemmArgs& args);
// The definition: plain loops, one thread (for tests).
void gemm_reference(const GemmArgs& args);

}  // namespace kvscope::train
