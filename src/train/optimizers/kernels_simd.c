/* Adam's float32 update with AVX-512 or AVX2 vectors.
 *
 * Why by hand: the scalar loop of kernels_impl.h is not vectorised by the
 * compiler, because sqrtf may set errno (C's math_errhandling) and the
 * library is built for baseline x86-64; the update was a quarter of an MLP
 * training step.  The operations are the scalar ones in the same order,
 * without FMA (the library is compiled with -std=c11, which contracts
 * nothing), and sqrt, division and max are IEEE-exact per lane, so every
 * weight gets the same bits as from the scalar loop. */
#include "ops/ops.h"
#include "train/optimizers/kernels_simd.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

/* One element, the scalar rule exactly (tails of the AVX2 loop). */
static inline void adam_one(float *w, float *m, float *v, float *vhat, float g, const ck_adam_coeffs *k)
{
    *m += (g - *m) * k->c1;
    *v += (g * g - *v) * k->c2;
    float vv = *v;
    if (vhat) {
        if (*vhat < vv) *vhat = vv;
        vv = *vhat;
    }
    *w -= (*m * k->alpha) / (__builtin_sqrtf(vv) + k->eps);
}

__attribute__((target("avx512f"))) static void adam_avx512(int64_t n, float *w, float *m, float *v, float *vhat,
                                                           const float *g, const ck_adam_coeffs *k)
{
    const __m512 c1 = _mm512_set1_ps(k->c1), c2 = _mm512_set1_ps(k->c2), al = _mm512_set1_ps(k->alpha),
                 ep = _mm512_set1_ps(k->eps);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 mk = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 gi = _mm512_maskz_loadu_ps(mk, g + i), mi = _mm512_maskz_loadu_ps(mk, m + i),
               vi = _mm512_maskz_loadu_ps(mk, v + i), wi = _mm512_maskz_loadu_ps(mk, w + i);
        mi = _mm512_add_ps(mi, _mm512_mul_ps(_mm512_sub_ps(gi, mi), c1));
        vi = _mm512_add_ps(vi, _mm512_mul_ps(_mm512_sub_ps(_mm512_mul_ps(gi, gi), vi), c2));
        __m512 vv = vi;
        if (vhat) {
            /* (vhat < v) ? v : vhat, NaNs included: max_ps returns its
             * second operand unless the first is greater. */
            vv = _mm512_max_ps(vi, _mm512_maskz_loadu_ps(mk, vhat + i));
            _mm512_mask_storeu_ps(vhat + i, mk, vv);
        }
        wi = _mm512_sub_ps(wi, _mm512_div_ps(_mm512_mul_ps(mi, al), _mm512_add_ps(_mm512_sqrt_ps(vv), ep)));
        _mm512_mask_storeu_ps(m + i, mk, mi);
        _mm512_mask_storeu_ps(v + i, mk, vi);
        _mm512_mask_storeu_ps(w + i, mk, wi);
    }
}

__attribute__((target("avx2"))) static void adam_avx2(int64_t n, float *w, float *m, float *v, float *vhat,
                                                      const float *g, const ck_adam_coeffs *k)
{
    const __m256 c1 = _mm256_set1_ps(k->c1), c2 = _mm256_set1_ps(k->c2), al = _mm256_set1_ps(k->alpha),
                 ep = _mm256_set1_ps(k->eps);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i), mi = _mm256_loadu_ps(m + i), vi = _mm256_loadu_ps(v + i),
               wi = _mm256_loadu_ps(w + i);
        mi = _mm256_add_ps(mi, _mm256_mul_ps(_mm256_sub_ps(gi, mi), c1));
        vi = _mm256_add_ps(vi, _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(gi, gi), vi), c2));
        __m256 vv = vi;
        if (vhat) {
            vv = _mm256_max_ps(vi, _mm256_loadu_ps(vhat + i));
            _mm256_storeu_ps(vhat + i, vv);
        }
        wi = _mm256_sub_ps(wi, _mm256_div_ps(_mm256_mul_ps(mi, al), _mm256_add_ps(_mm256_sqrt_ps(vv), ep)));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(w + i, wi);
    }
    for (; i < n; i++) adam_one(w + i, m + i, v + i, vhat ? vhat + i : NULL, g[i], k);
}

int ck_adam_f32_simd(int64_t n, float *w, float *m, float *v, float *vhat, const float *g, const ck_adam_coeffs *k)
{
    if (ck_cpu_has_avx512()) adam_avx512(n, w, m, v, vhat, g, k);
    else if (ck_cpu_has_avx2_fma()) adam_avx2(n, w, m, v, vhat, g, k);
    else return 0;
    return 1;
}

#else

int ck_adam_f32_simd(int64_t n, float *w, float *m, float *v, float *vhat, const float *g, const ck_adam_coeffs *k)
{
    (void)n, (void)w, (void)m, (void)v, (void)vhat, (void)g, (void)k;
    return 0;
}

#endif
