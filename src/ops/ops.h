/* Internal interface of the batch_dot implementation (not installed).
 *
 * batch_dot is reduced to a batch of matrix products C_b = A_b * B_b:
 * x's non-batch axes are (pre_x, K, post_x) around the contracted axis and
 * y's are (pre_y, K, post_y).  Then M = pre_x * post_x and N = pre_y *
 * post_y, and out[b] is the row-major (M, N) matrix whose row index runs
 * over x's kept axes and whose column index over y's, both in their
 * original order -- exactly Keras' output layout, so C needs no copy.
 *
 * A_b is stored (M, K) when post_x == 1 and (K, M) when pre_x == 1 (a BLAS
 * transpose, no copy); otherwise x is first copied into (pre, post, K)
 * order.  Likewise B_b is (K, N) when pre_y == 1, (N, K) when post_y == 1,
 * and otherwise y is copied into (K, pre, post) order.
 */
#ifndef CK_OPS_H
#define CK_OPS_H

#include "core/core.h"

/* Compiles a function once per vector ISA, the copy chosen when the
 * library loads (GCC's target_clones, an ifunc; glibc on x86-64).  For the
 * plain loops of training that the compiler vectorises only with wider
 * vectors or with AVX2's 64-bit compares (argmax indices); elsewhere the
 * baseline copy alone. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(CK_NO_TARGET_CLONES)
#define CK_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CK_TARGET_CLONES
#endif

/* What a float32 product does to each element of C once it is final, in
 * this order: v = c + bias[j] (bias NULL: none); v = v > 0 or NaN ? v :
 * +0 (relu); v = v * scale[j] + shift[j], a multiply then an add (scale
 * NULL: none; shift is then unused).  Our AVX-512 kernels apply it in the
 * registers before storing C; elsewhere ck_epilogue_rows_f32 applies it as
 * a pass, with the same operations, so the bits do not depend on which
 * kernel ran.  This is Dense's bias and relu with a following
 * BatchNormalization folded in (layers/dense.c). */
typedef struct ck_epilogue_f32 {
    const float *bias;
    int relu;
    const float *scale, *shift;
} ck_epilogue_f32;

/* The epilogue as a pass over rows x cols of c (row-major, contiguous). */
void ck_epilogue_rows_f32(float *c, int64_t rows, int64_t cols, const ck_epilogue_f32 *ep);

typedef struct ck_bd_plan {
    int64_t batch, M, N, K;
    int64_t pre_x, post_x, pre_y, post_y;
    int trans_a;    /* A_b stored (K, M) rather than (M, K)           */
    int trans_b;    /* B_b stored (N, K) rather than (K, N)           */
    int perm_x;     /* x must be copied into (pre, post, K) order     */
    int perm_y;     /* y must be copied into (K, pre, post) order     */
    /* Single products (batch 1): then(then_arg, r0, r1) runs on rows
     * [r0, r1) of C once they are final, on the thread that computed them
     * (a recurrent step's cell on its band of the batch); NULL: none. */
    void (*then)(void *then_arg, int64_t r0, int64_t r1);
    void *then_arg;
    /* Single float32 products (batch 1): applied to every element of C
     * before `then`, in our AVX-512 A B kernels' registers, else as a
     * pass; NULL: none.  ck_bd_run_f64 ignores it. */
    const ck_epilogue_f32 *epilogue;
} ck_bd_plan;

/* Which kernels the floating products use.  Tests set this to run every
 * case through every path; it is not meant to change at run time
 * otherwise (not thread-safe). */
enum {
    CK_BD_PATH_AUTO = 0,    /* by shape, CPU and BLAS (the default)          */
    CK_BD_PATH_BLAS,        /* CBLAS GEMM/GEMV for every product             */
    CK_BD_PATH_AVX2,        /* our AVX2 kernels (when the CPU has AVX2+FMA)  */
    CK_BD_PATH_PORTABLE,    /* our portable C kernels                        */
    CK_BD_PATH_AVX512,      /* our AVX-512 kernels (when the CPU has them;   */
                            /* otherwise as CK_BD_PATH_AVX2)                 */
    CK_BD_PATH_COUNT
};
/* Atomic: a test may switch paths while other threads compute. */
extern _Atomic int ck_bd_path;

/* batch_dot into `out` with the permuted copies (when an axis sits in the
 * middle) in `scratch`, 64-byte aligned, of ck_batch_dot_scratch_bytes
 * (NULL: allocated and freed inside, as ck_batch_dot_into).  The scratch
 * bytes take tensors with concrete shapes (data may be NULL); 0 on shapes
 * batch_dot would refuse (the call then reports the error). */
size_t ck_batch_dot_scratch_bytes(const ck_tensor *x, const ck_tensor *y, ck_axes axes);
ck_status ck_batch_dot_into_scratch(const ck_tensor *x, const ck_tensor *y, ck_axes axes, ck_tensor *out,
                                    void *scratch);

/* Builds the plan for already validated shapes and resolved axes. */
void ck_bd_plan_make(ck_bd_plan *p, const int64_t *xs, int xr, int a0,
                     const int64_t *ys, int yr, int a1);

/* The permuted copies the plan asks for; `esize` is 4 or 8 bytes. */
void ck_bd_permute_x(const ck_bd_plan *p, size_t esize, const void *x, void *dst);
void ck_bd_permute_y(const ck_bd_plan *p, size_t esize, const void *y, void *dst);

/* The products themselves.  `a`, `b` are x's and y's data (or their
 * permuted copies), `c` the output; every element of c is written. */
void ck_bd_run_f32(const ck_bd_plan *p, const float *a, const float *b, float *c);
void ck_bd_run_f64(const ck_bd_plan *p, const double *a, const double *b, double *c);
void ck_bd_run_i32(const ck_bd_plan *p, const int32_t *a, const int32_t *b, int32_t *c);
void ck_bd_run_i64(const ck_bd_plan *p, const int64_t *a, const int64_t *b, int64_t *c);

/* C(M,N) = A(M,K) B(K,N), all row-major and contiguous; every element of
 * C is written (matmul.c). */
void ck_matmul_f32(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float *c);
/* The same, then then(arg, r0, r1) on each band of rows of C as soon as
 * it is final, on the thread that computed it (each row's work must not
 * depend on the others'). */
void ck_matmul_f32_then(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float *c,
                        void (*then)(void *arg, int64_t r0, int64_t r1), void *arg);
/* The same with an epilogue applied to each element of C (NULL: none). */
void ck_matmul_f32_ep(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float *c,
                      const ck_epilogue_f32 *ep);
void ck_matmul_f64(int64_t M, int64_t N, int64_t K, const double *a, const double *b, double *c);
/* y(N) = x(K) W(K,N) (+ bias) (then relu, NaN kept) in one pass, as
 * ck_matmul_f32 with M = 1 followed by the bias and relu passes would
 * give them, where that product runs our AVX-512 kernels: returns 1.
 * Returns 0 having done nothing elsewhere (the caller takes the passes). */
int ck_dense_row_f32(int64_t N, int64_t K, const float *x, const float *w, const float *bias, int relu, float *y);

/* Whether our kernels beat this machine's BLAS for an (M,N,K) product of
 * training (ta: A stored transposed, (K, M); tb: B stored (N, K))
 * (batch_dot_kernels.c). */
int ck_own_gemm_wins(int ta, int tb, int64_t M, int64_t N, int64_t K);

/* Backward-pass products, row-major and contiguous, c = beta * c + ...:
 *   tn: a is (K, M), b is (K, N): c(M, N) += a^T b  (weight gradients)
 *   nt: a is (M, K), b is (N, K): c(M, N) += a b^T  (input gradients)
 * beta is 0 (overwrite; c need not be initialised) or 1 (accumulate). */
void ck_gemm_tn_f32(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float beta, float *c);
void ck_gemm_tn_f64(int64_t M, int64_t N, int64_t K, const double *a, const double *b, double beta, double *c);
void ck_gemm_nt_f32(int64_t M, int64_t N, int64_t K, const float *a, const float *b, float beta, float *c);
void ck_gemm_nt_f64(int64_t M, int64_t N, int64_t K, const double *a, const double *b, double beta, double *c);

/* C(M,N) = beta * C + op(A) op(B) with leading dimensions, row-major; op
 * transposes when trans_a / trans_b (A stored (K, M), B stored (N, K)).
 * beta is 0 (C need not be initialised) or 1.  Our kernels where they beat
 * this machine's BLAS, CBLAS otherwise (matmul.c). */
void ck_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
void ck_gemm_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const double *a, int64_t lda,
                 const double *b, int64_t ldb, double beta, double *c, int64_t ldc);

/* ---- small-matrix kernels (batch_dot_avx512.c, batch_dot_avx2.c,
 *      batch_dot_small.c): three families with the same contracts ------- */

/* 1 when the AVX2+FMA kernels may run on this CPU. */
int ck_cpu_has_avx2_fma(void);
/* 1 when the AVX-512 kernels may run (AVX-512 F, VL, DQ and FMA, with
 * the OS saving the zmm state). */
int ck_cpu_has_avx512(void);
/* 1 on AVX-512 cores that run a 512-bit operation as two 256-bit halves
 * (AMD Zen 4): one zmm FMA a cycle, and broadcasts compete with it. */
int ck_cpu_splits_zmm(void);

/* c[i] = sum_k a[i*sa + k] * v[i*sv + k] for i < n (sv may be 0: one
 * vector against n rows).  Rows are contiguous. */
void ck_sdot_rows_avx512(int64_t n, int64_t K, const float *a, int64_t sa,
                         const float *v, int64_t sv, float *c);
void ck_ddot_rows_avx512(int64_t n, int64_t K, const double *a, int64_t sa,
                         const double *v, int64_t sv, double *c);
void ck_sdot_rows_avx2(int64_t n, int64_t K, const float *a, int64_t sa,
                       const float *v, int64_t sv, float *c);
void ck_ddot_rows_avx2(int64_t n, int64_t K, const double *a, int64_t sa,
                       const double *v, int64_t sv, double *c);
void ck_sdot_rows_c(int64_t n, int64_t K, const float *a, int64_t sa,
                    const float *v, int64_t sv, float *c);
void ck_ddot_rows_c(int64_t n, int64_t K, const double *a, int64_t sa,
                    const double *v, int64_t sv, double *c);

/* C(M,N) = A(M,K) B(K,N) with A(i,k) = a[i*rs + k*cs], B row-major with
 * leading dimension ldb and unit column stride, C row-major with ldc.
 * No cache blocking: for matrices that fit in L1/L2. */
void ck_sgemm_small_avx512(int64_t M, int64_t N, int64_t K, const float *a,
                           int64_t rs, int64_t cs, const float *b, int64_t ldb,
                           float *c, int64_t ldc);
void ck_dgemm_small_avx512(int64_t M, int64_t N, int64_t K, const double *a,
                           int64_t rs, int64_t cs, const double *b, int64_t ldb,
                           double *c, int64_t ldc);
/* ck_sgemm_small_avx512, then the epilogue `ep` (NULL: none) applied in
 * the registers before each element of C is stored for the last time. */
void ck_sgemm_small_ep_avx512(int64_t M, int64_t N, int64_t K, const float *a,
                              int64_t rs, int64_t cs, const float *b, int64_t ldb,
                              float *c, int64_t ldc, const ck_epilogue_f32 *ep);
void ck_sgemm_small_avx2(int64_t M, int64_t N, int64_t K, const float *a,
                         int64_t rs, int64_t cs, const float *b, int64_t ldb,
                         float *c, int64_t ldc);
void ck_dgemm_small_avx2(int64_t M, int64_t N, int64_t K, const double *a,
                         int64_t rs, int64_t cs, const double *b, int64_t ldb,
                         double *c, int64_t ldc);
void ck_sgemm_small_c(int64_t M, int64_t N, int64_t K, const float *a,
                      int64_t rs, int64_t cs, const float *b, int64_t ldb,
                      float *c, int64_t ldc);
void ck_dgemm_small_c(int64_t M, int64_t N, int64_t K, const double *a,
                      int64_t rs, int64_t cs, const double *b, int64_t ldb,
                      double *c, int64_t ldc);

/* y(N) = x(K) W(K,N), plus bias (when not NULL), then relu with NaN kept
 * (when relu): Dense at batch 1, the bias and relu applied before the
 * store.  The numbers of ck_sgemm_small_avx512 with M = 1 followed by the
 * bias and relu passes, bit for bit. */
void ck_sdense_row_avx512(int64_t N, int64_t K, const float *x, const float *w, const float *bias,
                          int relu, float *y);

/* That row planned once for W's shape (K, N): a Dense layer keeps the plan
 * from its build and, at batch 1, calls the kernel straight, without the
 * checks and the panel arithmetic of each call (a tenth of a 64->64
 * call).  ck_row_plan_f32_make fills *p and returns 1 when one kernel call
 * computes such a row (AVX-512, 2 <= N <= 128, N K <= 2^24: where
 * ck_dense_row_f32 takes it), else 0 with p->kernel NULL.  A plan holds
 * for the automatic kernel choice only (ck_bd_path == CK_BD_PATH_AUTO). */
typedef void (*ck_row_kernel_f32)(int64_t K, int64_t kplain, const float *x, const float *w, int64_t ldw,
                                  const float *bias, int relu, float *y, uint16_t mask);
typedef struct ck_row_plan_f32 {
    ck_row_kernel_f32 kernel;
    int64_t N, K, kplain; /* kplain: steps whose last vector loads whole */
    uint16_t mask;        /* the last vector's columns */
} ck_row_plan_f32;
int ck_row_plan_f32_make(ck_row_plan_f32 *p, int64_t N, int64_t K);
static inline void ck_row_plan_f32_run(const ck_row_plan_f32 *p, const float *x, const float *w,
                                       const float *bias, int relu, float *y)
{
    p->kernel(p->K, p->kplain, x, w, p->N, bias, relu, y, p->mask);
}

/* C(M,N) = A(M,K) B(N,K)^T with both operands row-major (each entry a dot
 * product along K). */
void ck_sgemm_nt_avx512(int64_t M, int64_t N, int64_t K, const float *a,
                        int64_t lda, const float *b, int64_t ldb, float *c,
                        int64_t ldc);
void ck_dgemm_nt_avx512(int64_t M, int64_t N, int64_t K, const double *a,
                        int64_t lda, const double *b, int64_t ldb, double *c,
                        int64_t ldc);
void ck_sgemm_nt_avx2(int64_t M, int64_t N, int64_t K, const float *a,
                      int64_t lda, const float *b, int64_t ldb, float *c,
                      int64_t ldc);
void ck_dgemm_nt_avx2(int64_t M, int64_t N, int64_t K, const double *a,
                      int64_t lda, const double *b, int64_t ldb, double *c,
                      int64_t ldc);
void ck_sgemm_nt_c(int64_t M, int64_t N, int64_t K, const float *a,
                   int64_t lda, const float *b, int64_t ldb, float *c,
                   int64_t ldc);
void ck_dgemm_nt_c(int64_t M, int64_t N, int64_t K, const double *a,
                   int64_t lda, const double *b, int64_t ldb, double *c,
                   int64_t ldc);

/* Dot(normalize=True) of two (rows, n) float tensors of one dtype along
 * their last axis, straight from the inputs (no normalised copies):
 * out[r] = sum(x y) / (sqrt(max(sum(x^2), eps)) sqrt(max(sum(y^2), eps))),
 * sums in double.  Returns 0 (and does nothing) for other shapes or
 * dtypes (l2_normalize.c). */
int ck_cosine_rows_into(const ck_tensor *x, const ck_tensor *y, double epsilon, ck_tensor *out);

/* ---- the fused LSTM and GRU steps (rnn_cell_kernels.c) -------------------- */

/* One float32 step's elementwise work, gates in Keras' order i, f, c, o,
 * sigmoid (or Keras 2's hard_sigmoid) gates and tanh: for each row b,
 * z += xp (z: the recurrent product, (batch, 4 units), rewritten with the
 * pre-activations), gates = i f g o, c = f c_prev + i g, actc = tanh(c),
 * h = o actc.  All blocks (batch, units) or (batch, 4 units) contiguous,
 * xp's rows ldx elements apart. */
typedef struct ck_lstm_cell_args {
    int64_t batch, units, ldx;
    int hard_sigmoid;
    int keep; /* store z, the gates and act(c) (training); 0: only c, h */
    float *z, *gates, *c, *actc, *h;
    const float *xp, *c_prev;
    /* row b's projected inputs at xp_rows[b] (rows a cache holds) rather
     * than at xp + b * ldx; NULL: xp */
    const float *const *xp_rows;
} ck_lstm_cell_args;

void ck_lstm_cell_f32(const ck_lstm_cell_args *s);

/* One float32 GRU step with reset_after (gates z, r, h; sigmoid or
 * hard_sigmoid, and tanh): for each row b, m (batch, 3 units, the
 * recurrent product) += rbias (the recurrent bias, or NULL), pre_z,r =
 * xp_z,r + m_z,r, z, r = ra(pre), pre_h = xp_h + r m_h, hh = tanh(pre_h)
 * (pre and post = z r hh (batch, 3 units) kept), h = z h_prev + (1 - z) hh. */
typedef struct ck_gru_cell_args {
    int64_t batch, units, ldx;
    int hard_sigmoid;
    int keep; /* store m + rbias, pre and post (training); 0: only h */
    float *m, *pre, *post, *h;
    const float *xp, *rbias, *h_prev;
    const float *const *xp_rows; /* as ck_lstm_cell_args' */
} ck_gru_cell_args;

void ck_gru_cell_f32(const ck_gru_cell_args *s);

#endif
