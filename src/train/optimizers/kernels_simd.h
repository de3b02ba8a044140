/* Vector versions of the hottest optimizer updates (kernels_simd.c). */
#ifndef CK_TRAIN_OPTIMIZERS_KERNELS_SIMD_H
#define CK_TRAIN_OPTIMIZERS_KERNELS_SIMD_H

#include <stdint.h>

/* Adam's per-step constants, computed by the scalar kernel's code. */
typedef struct ck_adam_coeffs {
    float alpha, c1, c2, eps;
} ck_adam_coeffs;

/* Adam (AMSGrad when vhat is not NULL) over n float32 elements, the same
 * bits as the scalar loop; returns 0 (doing nothing) when this CPU has no
 * vector unit it knows. */
int ck_adam_f32_simd(int64_t n, float *w, float *m, float *v, float *vhat, const float *g, const ck_adam_coeffs *k);

#endif
