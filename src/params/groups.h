/* Iterating over the groups of a reduction: the elements that share every
 * index outside a set of axes (softmax, norm constraints). */
#ifndef CK_PARAMS_GROUPS_H
#define CK_PARAMS_GROUPS_H

#include "core/core.h"

typedef struct ck_groups {
    int nk, nr;                       /* kept / reduced axis counts        */
    int64_t kdim[CK_MAX_RANK], kstr[CK_MAX_RANK];
    int64_t rdim[CK_MAX_RANK], rstr[CK_MAX_RANK];
    int64_t ngroups, gsize;           /* number of groups, elements each  */
} ck_groups;

/* Plans the reduction of a row-major tensor of `shape` over `axes` (negative
 * count from the end).  CK_VALUE_ERROR naming `who` for an axis out of
 * range or a repeated axis. */
ck_status ck_groups_init(ck_groups *g, int rank, const int64_t *shape,
                         const int *axes, int naxes, const char *who);

/* Flat offset of the first element of group `k` (0 <= k < ngroups). */
static inline int64_t ck_groups_base(const ck_groups *g, int64_t k)
{
    int64_t off = 0;
    for (int i = g->nk - 1; i >= 0; i--) {
        off += (k % g->kdim[i]) * g->kstr[i];
        k /= g->kdim[i];
    }
    return off;
}

/* Offset of element `j` of a group relative to its base. */
static inline int64_t ck_groups_at(const ck_groups *g, int64_t j)
{
    if (g->nr == 1) return j * g->rstr[0];
    int64_t off = 0;
    for (int i = g->nr - 1; i >= 0; i--) {
        off += (j % g->rdim[i]) * g->rstr[i];
        j /= g->rdim[i];
    }
    return off;
}

#endif
