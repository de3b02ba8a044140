/* Helpers of the batch_dot test programs: see batch_dot_check.h. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/batch_dot_check.h"

ck_tensor *bd_make(ck_dtype dt, int rank, const int64_t *shape, const double *v)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dt, rank, shape), CK_OK, "%s", ck_last_error());
    for (int64_t i = 0; v && i < t->size; i++) {
        switch (dt) {
        case CK_FLOAT32: ((float *)t->data)[i] = (float)v[i]; break;
        case CK_FLOAT64: ((double *)t->data)[i] = v[i]; break;
        case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)v[i]; break;
        case CK_INT64: ((int64_t *)t->data)[i] = (int64_t)v[i]; break;
        }
    }
    return t;
}

ck_tensor *bd_make_fill(ck_dtype dt, int rank, const int64_t *shape, double value)
{
    ck_tensor *t = bd_make(dt, rank, shape, NULL);
    for (int64_t i = 0; i < t->size; i++) {
        switch (dt) {
        case CK_FLOAT32: ((float *)t->data)[i] = (float)value; break;
        case CK_FLOAT64: ((double *)t->data)[i] = value; break;
        case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)value; break;
        case CK_INT64: ((int64_t *)t->data)[i] = (int64_t)value; break;
        }
    }
    return t;
}

/* Deterministic values: small integers for int dtypes, floats in [-1, 1). */
ck_tensor *bd_make_random(ck_dtype dt, int rank, const int64_t *shape, unsigned *seed)
{
    ck_tensor *t = bd_make(dt, rank, shape, NULL);
    for (int64_t i = 0; i < t->size; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        double u = (double)(*seed >> 8) / 16777216.0;   /* [0, 1) */
        switch (dt) {
        case CK_FLOAT32: ((float *)t->data)[i] = (float)(2 * u - 1); break;
        case CK_FLOAT64: ((double *)t->data)[i] = 2 * u - 1; break;
        case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)(u * 11) - 5; break;
        case CK_INT64: ((int64_t *)t->data)[i] = (int64_t)(u * 11) - 5; break;
        }
    }
    return t;
}

int bd_same_shape(const ck_tensor *t, int rank, const int64_t *shape)
{
    if (t->rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (t->shape[i] != shape[i]) return 0;
    return 1;
}

const char *bd_shape_of(const ck_tensor *t)
{
    static char buf[4][128];
    static int slot;
    char *b = buf[slot++ % 4];
    return ck_shape_str(b, 128, t->rank, t->shape);
}

/* Row-major strides of t, in elements. */
static void strides_of(const ck_tensor *t, int64_t *st)
{
    int64_t s = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= t->shape[i];
    }
}

/* The closed form of spec 1.4, written independently of the library:
 * out[b, I, J] = sum_k x[b, I with k at a0] * y[b, J with k at a1].
 * Also gives, per element, sum_k |x*y| (for a rounding-error bound). */
ref_result bd_reference(const ck_tensor *x, const ck_tensor *y, int a0, int a1)
{
    ref_result r = {0};
    int xk[8], yk[8], nxk = 0, nyk = 0;
    for (int i = 1; i < x->rank; i++)
        if (i != a0) xk[nxk++] = i;
    for (int j = 1; j < y->rank; j++)
        if (j != a1) yk[nyk++] = j;
    r.shape[r.rank++] = x->shape[0];
    for (int i = 0; i < nxk; i++) r.shape[r.rank++] = x->shape[xk[i]];
    for (int j = 0; j < nyk; j++) r.shape[r.rank++] = y->shape[yk[j]];
    int logical = r.rank;
    if (r.rank == 1) r.shape[r.rank++] = 1;
    r.size = 1;
    for (int i = 0; i < r.rank; i++) r.size *= r.shape[i];
    r.val = calloc((size_t)r.size + 1, sizeof *r.val);
    r.mag = calloc((size_t)r.size + 1, sizeof *r.mag);
    r.ival = calloc((size_t)r.size + 1, sizeof *r.ival);
    int64_t xst[8], yst[8];
    strides_of(x, xst);
    strides_of(y, yst);
    int64_t K = x->shape[a0];
    for (int64_t o = 0; o < r.size; o++) {
        int64_t idx[16], rem = o;
        for (int i = logical - 1; i >= 0; i--) {
            idx[i] = rem % r.shape[i];
            rem /= r.shape[i];
        }
        int64_t xo = idx[0] * xst[0], yo = idx[0] * yst[0];
        for (int i = 0; i < nxk; i++) xo += idx[1 + i] * xst[xk[i]];
        for (int j = 0; j < nyk; j++) yo += idx[1 + nxk + j] * yst[yk[j]];
        double s = 0, m = 0;
        uint64_t is = 0;
        for (int64_t k = 0; k < K; k++) {
            int64_t xi = xo + k * xst[a0], yi = yo + k * yst[a1];
            double p = ck_tensor_get(x, xi) * ck_tensor_get(y, yi);
            s += p;
            m += fabs(p);
            if (x->dtype == CK_INT32)
                is += (uint64_t)(int64_t)((int32_t *)x->data)[xi] *
                      (uint64_t)(int64_t)((int32_t *)y->data)[yi];
            else if (x->dtype == CK_INT64)
                is += (uint64_t)((int64_t *)x->data)[xi] * (uint64_t)((int64_t *)y->data)[yi];
        }
        r.val[o] = s;
        r.mag[o] = m;
        r.ival[o] = (int64_t)is;
    }
    return r;
}

void bd_ref_free(ref_result *r)
{
    free(r->val);
    free(r->mag);
    free(r->ival);
}

/* Compares `got` with the reference: ints exactly, floats within the
 * classic bound (K+2) * u * sum|x*y| (plus a tiny absolute slack). */
int bd_matches_ref(const ck_tensor *got, const ref_result *r, int64_t K, char *why, size_t n)
{
    if (!bd_same_shape(got, r->rank, r->shape)) {
        char want[128];
        snprintf(why, n, "shape %s, expected %s", bd_shape_of(got),
                 ck_shape_str(want, sizeof want, r->rank, r->shape));
        return 0;
    }
    double u = got->dtype == CK_FLOAT32 ? 6e-8 : 1.2e-16;
    for (int64_t i = 0; i < got->size; i++) {
        if (got->dtype == CK_INT32 || got->dtype == CK_INT64) {
            int64_t g = got->dtype == CK_INT32 ? ((int32_t *)got->data)[i]
                                               : ((int64_t *)got->data)[i];
            int64_t w = got->dtype == CK_INT32 ? (int32_t)r->ival[i] : r->ival[i];
            if (g != w) {
                snprintf(why, n, "element %lld is %lld, expected %lld", (long long)i,
                         (long long)g, (long long)w);
                return 0;
            }
        } else {
            double g = ck_tensor_get(got, i);
            double tol = (double)(K + 2) * u * r->mag[i] + 1e-300;
            if (!(fabs(g - r->val[i]) <= tol)) {
                snprintf(why, n, "element %lld is %.9g, expected %.9g", (long long)i, g,
                         r->val[i]);
                return 0;
            }
        }
    }
    return 1;
}

/* Compares against a golden tensor: ints exactly, floats within tol. */
int bd_matches_golden(const ck_tensor *got, const ck_tensor *want, char *why, size_t n)
{
    if (got->dtype != want->dtype) {
        snprintf(why, n, "dtype %s, expected %s", ck_dtype_name(got->dtype),
                 ck_dtype_name(want->dtype));
        return 0;
    }
    if (!bd_same_shape(got, want->rank, want->shape)) {
        snprintf(why, n, "shape %s, expected %s", bd_shape_of(got), bd_shape_of(want));
        return 0;
    }
    double tol = got->dtype == CK_FLOAT32 ? 2e-6 : got->dtype == CK_FLOAT64 ? 1e-14 : 0;
    for (int64_t i = 0; i < got->size; i++) {
        int ok;
        if (got->dtype == CK_INT64)
            ok = ((int64_t *)got->data)[i] == ((int64_t *)want->data)[i];
        else if (got->dtype == CK_INT32)
            ok = ((int32_t *)got->data)[i] == ((int32_t *)want->data)[i];
        else
            ok = fabs(ck_tensor_get(got, i) - ck_tensor_get(want, i)) <= tol;
        if (!ok) {
            snprintf(why, n, "element %lld is %.17g, expected %.17g", (long long)i,
                     ck_tensor_get(got, i), ck_tensor_get(want, i));
            return 0;
        }
    }
    return 1;
}

void bd_expect_values(const ck_tensor *t, int rank, const int64_t *shape,
                          const double *v, const char *what)
{
    cr_assert(bd_same_shape(t, rank, shape), "%s: shape %s", what, bd_shape_of(t));
    for (int64_t i = 0; i < t->size; i++)
        cr_expect_eq(ck_tensor_get(t, i), v[i], "%s: element %lld is %g, expected %g", what,
                     (long long)i, ck_tensor_get(t, i), v[i]);
}

/* ------------------------------------------------------ numpy goldens */
