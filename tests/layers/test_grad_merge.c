/* Backward passes of the merging layers against float64 central
 * differences: Add, Subtract, Multiply, Average, Maximum, Minimum (with
 * numpy broadcasting), Concatenate (any axis), Dot (axes, normalize), the
 * legacy Merge; plus TF's tie rule of Maximum / Minimum. */
#include "layers/grad_helpers.h"

typedef ck_status (*merge_ctor)(ck_layer **, const ck_merge_opts *);

static const int64_t A[3] = {2, 3, 4}, B[2] = {2, 4}, C[3] = {2, 1, 4}, D[3] = {2, 3, 1};

static void merge_case(merge_ctor ctor, int n, const int64_t *const *shapes, const int *ranks, uint64_t seed)
{
    ck_layer *l = NULL;
    cr_assert_eq(ctor(&l, &(ck_merge_opts){.dtype = CK_FLOAT64}), CK_OK);
    ck_tensor *in[4];
    for (int i = 0; i < n; i++) in[i] = grad_rand(seed + i, ranks[i], shapes[i], -2, 2);
    grad_run(l, n, in);
}

Test(grad_merge, elementwise_with_broadcasting)
{
    merge_ctor ctors[] = {ck_add, ck_multiply, ck_average, ck_maximum, ck_minimum};
    for (size_t k = 0; k < sizeof ctors / sizeof ctors[0]; k++) {
        merge_case(ctors[k], 2, (const int64_t *const[]){A, A}, (int[]){3, 3}, 100 + k);
        merge_case(ctors[k], 3, (const int64_t *const[]){A, B, C}, (int[]){3, 2, 3}, 200 + k);
        merge_case(ctors[k], 4, (const int64_t *const[]){D, C, A, B}, (int[]){3, 3, 3, 2}, 300 + k);
    }
    merge_case(ck_subtract, 2, (const int64_t *const[]){A, A}, (int[]){3, 3}, 400);
    merge_case(ck_subtract, 2, (const int64_t *const[]){B, A}, (int[]){2, 3}, 401);
    merge_case(ck_subtract, 2, (const int64_t *const[]){D, C}, (int[]){3, 3}, 402);
}

/* TF: maximum(x, y)'s gradient goes to x where x >= y; a fold gives ties
 * to the earliest input. */
Test(grad_merge, max_min_ties_go_to_the_first_input)
{
    merge_ctor ctors[] = {ck_maximum, ck_minimum};
    for (int k = 0; k < 2; k++) {
        ck_layer *l = NULL;
        cr_assert_eq(ctors[k](&l, &(ck_merge_opts){.dtype = CK_FLOAT64}), CK_OK);
        const int64_t s[2] = {1, 2};
        ck_tensor *in[3], *din[3], *out = NULL, *dout = NULL;
        for (int i = 0; i < 3; i++) {
            cr_assert_eq(ck_tensor_new(&in[i], CK_FLOAT64, 2, s), CK_OK);
            cr_assert_eq(ck_tensor_new(&din[i], CK_FLOAT64, 2, s), CK_OK);
            ((double *)in[i]->data)[0] = 1.0;                 /* all tie */
            ((double *)in[i]->data)[1] = i == 0 ? 0.0 : 2.0;  /* inputs 1 and 2 tie */
        }
        if (k == 1) ((double *)in[0]->data)[1] = 3.0;
        cr_assert_eq(ck_tensor_new(&out, CK_FLOAT64, 2, s), CK_OK);
        cr_assert_eq(ck_tensor_new(&dout, CK_FLOAT64, 2, s), CK_OK);
        ((double *)dout->data)[0] = 1;
        ((double *)dout->data)[1] = 1;
        ck_train_ctx ctx = {0};
        cr_assert_eq(ck_layer_train_call(l, &ctx, 3, (const ck_tensor *const *)in, &out, NULL), CK_OK, "%s",
                     ck_last_error());
        cr_assert_eq(ck_layer_backward(l, &ctx, 3, (const ck_tensor *const *)in, out, dout, NULL, din), CK_OK);
        const double want[3][2] = {{1, 0}, {0, 1}, {0, 0}};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++)
                cr_expect_eq(((double *)din[i]->data)[j], want[i][j], "%s din[%d][%d]", k ? "min" : "max", i, j);
        for (int i = 0; i < 3; i++) {
            ck_tensor_free(in[i]);
            ck_tensor_free(din[i]);
        }
        ck_tensor_free(out);
        ck_tensor_free(dout);
        ck_layer_free(l);
    }
}

Test(grad_merge, concatenate_axes)
{
    const int64_t s1[3] = {2, 3, 4}, s2[3] = {2, 2, 4}, s3[3] = {2, 3, 1};
    ck_layer *l = NULL;
    cr_assert_eq(ck_concatenate(&l, &(ck_concatenate_opts){.axis = ck_int(1), .dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 2, (ck_tensor *[]){grad_rand(500, 3, s1, -1, 1), grad_rand(501, 3, s2, -1, 1)});
    cr_assert_eq(ck_concatenate(&l, &(ck_concatenate_opts){.dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 3, (ck_tensor *[]){grad_rand(502, 3, s1, -1, 1), grad_rand(503, 3, s3, -1, 1),
                                   grad_rand(504, 3, s1, -1, 1)});
    cr_assert_eq(ck_concatenate(&l, &(ck_concatenate_opts){.axis = ck_int(0), .dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 2, (ck_tensor *[]){grad_rand(505, 3, s1, -1, 1), grad_rand(506, 3, s1, -1, 1)});
}

static void dot_case(ck_axes axes, int normalize, int xr, const int64_t *xs, int yr, const int64_t *ys, uint64_t seed)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_dot(&l, &(ck_dot_opts){.axes = axes, .normalize = normalize, .dtype = CK_FLOAT64}), CK_OK,
                 "%s", ck_last_error());
    grad_run(l, 2, (ck_tensor *[]){grad_rand(seed, xr, xs, -1, 1), grad_rand(seed + 1, yr, ys, -1, 1)});
}

Test(grad_dot, axes_and_normalize)
{
    const int64_t v[2] = {3, 5}, m1[3] = {2, 3, 4}, m2[3] = {2, 4, 5}, m3[3] = {2, 3, 5}, t4[4] = {2, 3, 2, 4};
    for (int nz = 0; nz < 2; nz++) {
        dot_case(ck_axes_one(-1), nz, 2, v, 2, v, 600 + nz);           /* (B, 1) */
        dot_case(ck_axes_one(1), nz, 2, v, 2, v, 610 + nz);
        dot_case(ck_axes_pair(2, 1), nz, 3, m1, 3, m2, 620 + nz);      /* matmul */
        dot_case(ck_axes_pair(1, 1), nz, 3, m1, 3, m3, 630 + nz);      /* x^T y */
        dot_case(ck_axes_pair(2, 3), nz, 3, m1, 4, t4, 640 + nz);      /* last with last */
        dot_case(ck_axes_pair(1, 1), nz, 3, m1, 4, t4, 650 + nz);      /* contract a middle axis */
        dot_case(ck_axes_one(-1), nz, 3, m1, 4, t4, 660 + nz);
    }
}

Test(grad_merge, legacy_merge_dispatches)
{
    const int64_t s[2] = {2, 3};
    ck_layer *l = grad_from_config("{\"class_name\": \"Merge\", \"config\": {\"mode\": \"mul\", \"name\": \"m\", "
                                   "\"dtype\": \"float64\"}}");
    grad_run(l, 2, (ck_tensor *[]){grad_rand(700, 2, s, -1, 1), grad_rand(701, 2, s, -1, 1)});
    l = grad_from_config("{\"class_name\": \"Merge\", \"config\": {\"mode\": \"concat\", \"concat_axis\": -1, "
                         "\"name\": \"c\", \"dtype\": \"float64\"}}");
    grad_run(l, 2, (ck_tensor *[]){grad_rand(702, 2, s, -1, 1), grad_rand(703, 2, s, -1, 1)});
}
