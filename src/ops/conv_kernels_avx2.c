/* AVX2 register tiles of the direct channels_last convolution
 * (conv_kernels.h, the tiles themselves in conv_tiles.h): 8 floats a
 * vector, up to 2 vectors (16 filters) a tile in the 16 ymm registers, so
 * that CPUs without AVX-512 skip im2col too.  Compiled through the target
 * attribute only; callers check ck_cpu_has_avx2_fma() first. */
#include "ops/conv_kernels.h"
#include "ops/ops.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define CT_SFX avx2
#define CT_TGT __attribute__((target("avx2,fma")))
#define CT_W 8
#define CT_NV 4
typedef __m256 ct_vec;
typedef __m256i ct_mask;
#define CT_ZERO() _mm256_setzero_ps()
#define CT_SET1(f) _mm256_set1_ps(f)
#define CT_LOADU(p) _mm256_loadu_ps(p)
/* vmaskmovps reads nothing (and cannot fault) in the masked-off lanes */
#define CT_MLOADU(m, p) _mm256_maskload_ps(p, m)
#define CT_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define CT_ADD(a, b) _mm256_add_ps(a, b)
#define CT_MUL(a, b) _mm256_mul_ps(a, b)
#define CT_MAX(a, b) _mm256_max_ps(a, b)
#define CT_MSTOREU(p, m, v) _mm256_maskstore_ps(p, m, v)
#define CT_MASK(n) first_lanes(n)
/* MR * NV accumulators + NV kernel vectors + a broadcast within the 16
 * registers */
#define CT_ROWS {{12, 4, 2, 1}, {6, 4, 2, 1}, {4, 4, 2, 1}, {3, 3, 2, 1}}
#define CT_INSTANTIATE                                                                                    \
    CT_DEFINE_TILE(12, 1) CT_DEFINE_TILE(6, 2) CT_DEFINE_TILE(4, 3) CT_DEFINE_TILE(3, 4)                 \
    CT_DEFINE_TILE(4, 1) CT_DEFINE_TILE(4, 2) CT_DEFINE_TILE(2, 1) CT_DEFINE_TILE(2, 2)                  \
    CT_DEFINE_TILE(2, 3) CT_DEFINE_TILE(2, 4) CT_DEFINE_TILE(1, 1) CT_DEFINE_TILE(1, 2)                  \
    CT_DEFINE_TILE(1, 3) CT_DEFINE_TILE(1, 4)
#define CT_TILE_TABLE                                                                                     \
    {{tile_12_1_avx2, tile_4_1_avx2, tile_2_1_avx2, tile_1_1_avx2},                                       \
     {tile_6_2_avx2, tile_4_2_avx2, tile_2_2_avx2, tile_1_2_avx2},                                        \
     {tile_4_3_avx2, tile_4_3_avx2, tile_2_3_avx2, tile_1_3_avx2},                                        \
     {tile_3_4_avx2, tile_3_4_avx2, tile_2_4_avx2, tile_1_4_avx2}}

/* The mask of lanes 0 .. n-1 (1 <= n <= 8): a window of a row of eight
 * all-ones then eight zeros. */
__attribute__((target("avx2,fma"))) static inline __m256i first_lanes(int n)
{
    static const int32_t row[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(row + 8 - n));
}

#include "ops/conv_tiles.h"

#else

int64_t ck_conv2d_nhwc_tile_rows_avx2(int64_t f)
{
    (void)f;
    return 1;
}

void ck_conv2d_nhwc_f32_avx2(const ck_conv_nhwc *g, const float *x, const float *kernel, const ck_conv_epilogue *e,
                             float *out, int64_t p0, int64_t p1)
{
    (void)g, (void)x, (void)kernel, (void)e, (void)out, (void)p0, (void)p1;
}

#endif
