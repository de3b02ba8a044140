/* AVX-512 register tiles of the direct channels_last convolution
 * (conv_kernels.h, the tiles themselves in conv_tiles.h): 16 floats a
 * vector, up to 4 vectors (64 filters) a tile in the 32 zmm registers.
 * Compiled through the target attribute only; callers check
 * ck_cpu_has_avx512() first. */
#include "ops/conv_kernels.h"
#include "ops/ops.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define CT_SFX avx512
#define CT_TGT __attribute__((target("avx512f,avx512vl,avx512dq,fma")))
#define CT_W 16
#define CT_NV 4
typedef __m512 ct_vec;
typedef __mmask16 ct_mask;
#define CT_ZERO() _mm512_setzero_ps()
#define CT_SET1(f) _mm512_set1_ps(f)
#define CT_LOADU(p) _mm512_loadu_ps(p)
#define CT_MLOADU(m, p) _mm512_maskz_loadu_ps(m, p)
#define CT_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define CT_ADD(a, b) _mm512_add_ps(a, b)
#define CT_MUL(a, b) _mm512_mul_ps(a, b)
#define CT_MAX(a, b) _mm512_max_ps(a, b)
#define CT_MSTOREU(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define CT_MASK(n) ((__mmask16)((1u << (n)) - 1u))
/* MR * NV accumulators + NV kernel vectors + a broadcast within the 32
 * registers, MR a multiple of 2 for the remainder tiles */
#define CT_ROWS {{14, 4, 2, 1}, {12, 4, 2, 1}, {8, 4, 2, 1}, {6, 4, 2, 1}}
#define CT_INSTANTIATE                                                                                    \
    CT_DEFINE_TILE(14, 1) CT_DEFINE_TILE(12, 2) CT_DEFINE_TILE(8, 3) CT_DEFINE_TILE(6, 4)                \
    CT_DEFINE_TILE(4, 1) CT_DEFINE_TILE(4, 2) CT_DEFINE_TILE(4, 3) CT_DEFINE_TILE(4, 4)                  \
    CT_DEFINE_TILE(2, 1) CT_DEFINE_TILE(2, 2) CT_DEFINE_TILE(2, 3) CT_DEFINE_TILE(2, 4)                  \
    CT_DEFINE_TILE(1, 1) CT_DEFINE_TILE(1, 2) CT_DEFINE_TILE(1, 3) CT_DEFINE_TILE(1, 4)
#define CT_TILE_TABLE                                                                                     \
    {{tile_14_1_avx512, tile_4_1_avx512, tile_2_1_avx512, tile_1_1_avx512},                               \
     {tile_12_2_avx512, tile_4_2_avx512, tile_2_2_avx512, tile_1_2_avx512},                               \
     {tile_8_3_avx512, tile_4_3_avx512, tile_2_3_avx512, tile_1_3_avx512},                                \
     {tile_6_4_avx512, tile_4_4_avx512, tile_2_4_avx512, tile_1_4_avx512}}
#include "ops/conv_tiles.h"

void ck_sgemm_rows_avx512(int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b, int64_t ldb,
                          float *c, int64_t ldc)
{
    static const ck_conv_epilogue none = {0};
    const tile_geo_avx512 geo = {.nky = 1, .nkx = 1, .run = K, .ldw = ldb};
    const float *xs[16];
    for (int64_t f0 = 0; f0 < N; f0 += 64) {
        const int64_t nf = N - f0 < 64 ? N - f0 : 64;
        const int nv = (int)((nf + 15) / 16);
        const __mmask16 m = nf % 16 ? (__mmask16)((1u << (nf % 16)) - 1) : (__mmask16)0xFFFF;
        const tile_fn_avx512 *fns = tiles_avx512[nv - 1];
        const int *rows = tile_rows_avx512[nv - 1];
        for (int64_t i = 0; i < M;) {
            int k = 0;
            while (M - i < rows[k]) k++;
            for (int j = 0; j < rows[k]; j++) xs[j] = a + (i + j) * lda;
            fns[k](xs, b + f0, &geo, m, &none, f0, c + i * ldc + f0, ldc);
            i += rows[k];
        }
    }
}

#else

void ck_sgemm_rows_avx512(int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b, int64_t ldb,
                          float *c, int64_t ldc)
{
    (void)M, (void)N, (void)K, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc;
}

int64_t ck_conv2d_nhwc_tile_rows_avx512(int64_t f)
{
    (void)f;
    return 1;
}

void ck_conv2d_nhwc_f32_avx512(const ck_conv_nhwc *g, const float *x, const float *kernel,
                               const ck_conv_epilogue *e, float *out, int64_t p0, int64_t p1)
{
    (void)g, (void)x, (void)kernel, (void)e, (void)out, (void)p0, (void)p1;
}

#endif
