/* batch_dot as a batch of matrix products: the plan and the permuted
 * copies for a contracted axis in the middle of the non-batch axes. */
#include <string.h>

#include "ops/ops.h"

static int64_t prod(const int64_t *s, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++) n *= s[i];
    return n;
}

void ck_bd_plan_make(ck_bd_plan *p, const int64_t *xs, int xr, int a0,
                     const int64_t *ys, int yr, int a1)
{
    memset(p, 0, sizeof *p);
    p->batch = xs[0];
    p->K = xs[a0];
    p->pre_x = prod(xs, 1, a0);
    p->post_x = prod(xs, a0 + 1, xr);
    p->pre_y = prod(ys, 1, a1);
    p->post_y = prod(ys, a1 + 1, yr);
    p->M = p->pre_x * p->post_x;
    p->N = p->pre_y * p->post_y;
    if (p->post_x == 1) {
        p->trans_a = 0;
    } else if (p->pre_x == 1) {
        p->trans_a = 1;
    } else {
        p->perm_x = 1;      /* the copy is (M, K) */
    }
    if (p->pre_y == 1) {
        p->trans_b = 0;
    } else if (p->post_y == 1) {
        p->trans_b = 1;
    } else {
        p->perm_y = 1;      /* the copy is (K, N) */
    }
}

/* (pre, K, post) -> (pre, post, K): a transpose of each (K, post) block. */
#define PERMUTE_X(T)                                                          \
    do {                                                                      \
        const T *s = src;                                                     \
        T *d = dst;                                                           \
        int64_t blocks = p->batch * p->pre_x, K = p->K, P = p->post_x;        \
        for (int64_t blk = 0; blk < blocks; blk++) {                          \
            const T *sb = s + blk * K * P;                                    \
            T *db = d + blk * K * P;                                          \
            for (int64_t j = 0; j < P; j++)                                   \
                for (int64_t k = 0; k < K; k++) db[j * K + k] = sb[k * P + j]; \
        }                                                                     \
    } while (0)

void ck_bd_permute_x(const ck_bd_plan *p, size_t esize, const void *src, void *dst)
{
    if (esize == 4) PERMUTE_X(uint32_t);
    else PERMUTE_X(uint64_t);
}

/* (pre, K, post) -> (K, pre, post): rows of `post` elements move whole. */
void ck_bd_permute_y(const ck_bd_plan *p, size_t esize, const void *src, void *dst)
{
    const char *s = src;
    char *d = dst;
    int64_t pre = p->pre_y, K = p->K;
    size_t row = (size_t)p->post_y * esize;
    for (int64_t b = 0; b < p->batch; b++) {
        const char *sb = s + (size_t)(b * pre * K) * row;
        char *db = d + (size_t)(b * pre * K) * row;
        for (int64_t k = 0; k < K; k++)
            for (int64_t i = 0; i < pre; i++)
                memcpy(db + (size_t)(k * pre + i) * row, sb + (size_t)(i * K + k) * row, row);
    }
}
