/* Planning reductions over a set of axes. */
#include "params/groups.h"

ck_status ck_groups_init(ck_groups *g, int rank, const int64_t *shape,
                         const int *axes, int naxes, const char *who)
{
    int reduced[CK_MAX_RANK] = {0};
    if (naxes < 1 || naxes > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "%s: %d axes given, expected 1 to %d", who, naxes,
                        CK_MAX_RANK);
    for (int i = 0; i < naxes; i++) {
        int a;
        CK_TRY(ck_normalize_axis(axes[i], rank, who, &a));
        if (reduced[a])
            return ck_error(CK_VALUE_ERROR, "%s: axis %d is repeated", who, axes[i]);
        reduced[a] = 1;
    }
    ck_groups r = {0};
    int64_t stride = 1;
    r.ngroups = 1;
    r.gsize = 1;
    /* Walk from the last axis so strides are known; fill lists in order. */
    int64_t str[CK_MAX_RANK];
    for (int i = rank - 1; i >= 0; i--) {
        str[i] = stride;
        stride *= shape[i];
    }
    for (int i = 0; i < rank; i++) {
        if (reduced[i]) {
            r.rdim[r.nr] = shape[i];
            r.rstr[r.nr++] = str[i];
            r.gsize *= shape[i];
        } else {
            r.kdim[r.nk] = shape[i];
            r.kstr[r.nk++] = str[i];
            r.ngroups *= shape[i];
        }
    }
    *g = r;
    return CK_OK;
}
