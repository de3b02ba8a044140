/* batch_dot errors: every shape error of Keras in Keras' order (which one
 * wins), rank limits, unknown dims in shape inference, dtypes and data, and
 * the checks of ck_batch_dot_into on its output. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "ops/ops.h"
#include "support/batch_dot_check.h"
#include "support/support.h"

/* ---------------------------------------------------------- errors */

/* Expects ck_batch_dot_shape to fail with a value error whose message
 * contains every fragment given. */
static void expect_shape_error(const char *what, int xr, const int64_t *xs, int yr,
                               const int64_t *ys, ck_axes axes, const char *frag1,
                               const char *frag2)
{
    int a[2] = {-7, -7}, rank = -7;
    int64_t shape[CK_MAX_RANK] = {-7};
    ck_status st = ck_batch_dot_shape(xr, xs, yr, ys, axes, a, &rank, shape);
    cr_expect_eq(st, CK_VALUE_ERROR, "%s: got %s (%s)", what, ck_status_name(st), ck_last_error());
    cr_expect(strstr(ck_last_error(), frag1) != NULL, "%s: message '%s' lacks '%s'", what,
              ck_last_error(), frag1);
    if (frag2)
        cr_expect(strstr(ck_last_error(), frag2) != NULL, "%s: message '%s' lacks '%s'", what,
                  ck_last_error(), frag2);
    cr_expect(a[0] == -7 && rank == -7 && shape[0] == -7, "%s: outputs touched", what);
}

#define RANK_MSG "rank < 2"
#define BATCH_MSG "different batch sizes"
#define FORM_MSG "Multiple target dimensions are not supported"
#define AXIS0_MSG "over axis 0"
#define RANGE_MSG "out of range"

Test(batch_dot_errors, keras_a6_cases)
{
    int64_t s4[] = {4}, s42[] = {4, 2}, s52[] = {5, 2}, s423[] = {4, 2, 3}, s432[] = {4, 3, 2},
            s424[] = {4, 2, 4};
    expect_shape_error("A6.1", 1, s4, 2, s42, ONE(1), RANK_MSG, "(4,) and (4, 2)");
    expect_shape_error("A6.1 y", 2, s42, 1, s4, ONE(1), RANK_MSG, NULL);
    expect_shape_error("A6.2", 2, s42, 2, s52, ONE(1), BATCH_MSG, "(4, 2) and (5, 2)");
    expect_shape_error("A6.3", 3, s423, 3, s432, (ck_axes){3, {1, 2}}, FORM_MSG, "(4, 2, 3)");
    expect_shape_error("A6.3 count -1", 3, s423, 3, s432, (ck_axes){-1, {1, 2}}, FORM_MSG, NULL);
    expect_shape_error("A6.4", 3, s423, 3, s423, ONE(0), AXIS0_MSG, "expand_dims");
    expect_shape_error("A6.5", 3, s423, 3, s432, PAIR(0, 1), AXIS0_MSG, "(4, 2, 3) and (4, 3, 2)");
    expect_shape_error("A6.5 y", 3, s423, 3, s432, PAIR(1, 0), AXIS0_MSG, NULL);
    expect_shape_error("A6.6", 3, s423, 3, s432, PAIR(-3, 1), AXIS0_MSG, NULL);
    expect_shape_error("A6.7", 3, s423, 3, s424, ONE(2), "x.shape[2] != y.shape[2] (3 != 4)",
                       "(4, 2, 3) and (4, 2, 4)");
    int64_t n23[] = {-1, 2, 3}, n24[] = {-1, 2, 4};
    expect_shape_error("A6.8", 3, n23, 3, n24, ONE(2), "x.shape[2] != y.shape[2] (3 != 4)",
                       "(None, 2, 3) and (None, 2, 4)");
    /* A6.9: an unknown contracted dim is not checked statically */
    int64_t nn[] = {-1, -1}, n4[] = {-1, 4};
    int rank;
    int64_t shape[CK_MAX_RANK];
    cr_expect_eq(ck_batch_dot_shape(2, nn, 2, n4, ONE(1), NULL, &rank, shape), CK_OK);
    cr_expect(rank == 2 && shape[0] == -1 && shape[1] == 1);
    /* A4.2-4 under K2.3+ rules */
    int64_t s3220[] = {32, 20}, s2032[] = {20, 32};
    expect_shape_error("A4.2", 2, s3220, 2, s3220, ONE(0), AXIS0_MSG, NULL);
    expect_shape_error("A4.3", 2, s3220, 2, s2032, PAIR(0, 1), BATCH_MSG, NULL);
    expect_shape_error("A4.4", 2, s3220, 2, s2032, PAIR(1, 0), BATCH_MSG, NULL);
}

Test(batch_dot_errors, out_of_range_axes_are_value_errors)
{
    int64_t s423[] = {4, 2, 3}, s432[] = {4, 3, 2};
    expect_shape_error("axis = rank", 3, s423, 3, s432, PAIR(3, 1), RANGE_MSG, "axis 3 of x");
    expect_shape_error("y axis = rank", 3, s423, 3, s432, PAIR(1, 3), RANGE_MSG, "axis 3 of y");
    /* wrapped once: -5 + 3 = -2 stays negative and is caught here */
    expect_shape_error("axis < -rank", 3, s423, 3, s432, PAIR(-5, 1), RANGE_MSG, "axis -5");
    expect_shape_error("int axis too big", 3, s423, 3, s432, ONE(7), RANGE_MSG, NULL);
    expect_shape_error("y axis < -rank", 3, s423, 3, s432, PAIR(1, -4), RANGE_MSG, "of y");
}

Test(batch_dot_errors, which_error_wins)
{
    int64_t s4[] = {4}, s52[] = {5, 2}, s42[] = {4, 2}, s423[] = {4, 2, 3}, s523[] = {5, 2, 3},
            s424[] = {4, 2, 4};
    /* rank before batch */
    expect_shape_error("rank vs batch", 1, s4, 2, s52, ONE(1), RANK_MSG, NULL);
    /* batch before the axes form, axis 0, range and dims */
    expect_shape_error("batch vs form", 2, s42, 2, s52, (ck_axes){5, {0, 0}}, BATCH_MSG, NULL);
    expect_shape_error("batch vs axis 0", 3, s423, 3, s523, ONE(0), BATCH_MSG, NULL);
    expect_shape_error("batch vs range", 3, s423, 3, s523, ONE(9), BATCH_MSG, NULL);
    /* form before axis 0 */
    expect_shape_error("form vs axis 0", 3, s423, 3, s424, (ck_axes){3, {0, 0}}, FORM_MSG, NULL);
    /* axis 0 before an out-of-range axis and before dims */
    expect_shape_error("axis 0 vs range", 3, s423, 3, s424, PAIR(0, 9), AXIS0_MSG, NULL);
    expect_shape_error("range vs axis 0", 3, s423, 3, s424, PAIR(9, 0), AXIS0_MSG, NULL);
    expect_shape_error("axis 0 vs dims", 3, s423, 3, s424, PAIR(2, 0), AXIS0_MSG, NULL);
    /* range before dims */
    expect_shape_error("range vs dims", 3, s423, 3, s424, PAIR(2, 5), RANGE_MSG, NULL);
    /* unknown batch dims are not compared */
    int64_t n23[] = {-1, 2, 3}, s73[] = {7, 3, 4};
    int rank, a[2];
    int64_t shape[CK_MAX_RANK];
    cr_expect_eq(ck_batch_dot_shape(3, n23, 3, s73, PAIR(2, 1), a, &rank, shape), CK_OK,
                 "%s", ck_last_error());
    cr_expect(rank == 3 && shape[0] == 7 && shape[1] == 2 && shape[2] == 4);
}

Test(batch_dot_errors, ranks_beyond_the_limit)
{
    int64_t s9[9] = {2, 2, 2, 2, 2, 2, 2, 2, 2};
    expect_shape_error("rank 9", 9, s9, 2, s9, ONE(1), "rank 2 to 8", NULL);
    /* rank 6 x rank 6 would give rank 9 */
    expect_shape_error("output rank 9", 6, s9, 6, s9, PAIR(5, 1), "rank 9", NULL);
    int rank;
    int64_t shape[CK_MAX_RANK];
    cr_expect_eq(ck_batch_dot_shape(6, s9, 5, s9, PAIR(5, 1), NULL, &rank, shape), CK_OK);
    cr_expect_eq(rank, 8);
    cr_expect_eq(ck_batch_dot_shape(2, NULL, 2, s9, ONE(1), NULL, &rank, shape), CK_VALUE_ERROR);
}

Test(batch_dot_errors, unknown_dims_in_shape_inference)
{
    int rank, a[2];
    int64_t shape[CK_MAX_RANK];
    /* A3 with only ndim known: every dim unknown */
    int64_t u4[] = {-1, -1, -1, -1}, u3[] = {-1, -1, -1};
    cr_assert_eq(ck_batch_dot_shape(4, u4, 4, u4, PAIR(2, 3), a, &rank, shape), CK_OK);
    cr_expect_eq(rank, 5);
    for (int i = 0; i < 5; i++) cr_expect_eq(shape[i], -1);
    cr_expect(a[0] == 2 && a[1] == 3);
    cr_assert_eq(ck_batch_dot_shape(4, u4, 3, u3, ONE(-1), a, &rank, shape), CK_OK);
    cr_expect(a[0] == 3 && a[1] == 2);
    /* the known dims stay where they belong */
    int64_t xs[] = {-1, 3, -1, 5}, ys[] = {-1, 5, 6};
    cr_assert_eq(ck_batch_dot_shape(4, xs, 3, ys, NONE, a, &rank, shape), CK_OK, "%s",
                 ck_last_error());
    cr_expect(a[0] == 3 && a[1] == 1, "default axes (%d, %d)", a[0], a[1]);
    cr_expect(rank == 4 && shape[0] == -1 && shape[1] == 3 && shape[2] == -1 && shape[3] == 6);
    /* None defaults: rank-2 y gives (xr-1, 1) */
    int64_t x2[] = {-1, 4}, y2[] = {-1, 4};
    cr_assert_eq(ck_batch_dot_shape(2, x2, 2, y2, NONE, a, &rank, shape), CK_OK);
    cr_expect(a[0] == 1 && a[1] == 1 && rank == 2 && shape[1] == 1);
}

Test(batch_dot_errors, dtypes_and_data)
{
    int64_t s[] = {2, 3};
    ck_tensor *f = bd_make_fill(CK_FLOAT32, 2, s, 1), *d = bd_make_fill(CK_FLOAT64, 2, s, 1);
    ck_tensor *i = bd_make_fill(CK_INT32, 2, s, 1), *out = (ck_tensor *)0x1;
    cr_expect_eq(ck_batch_dot(f, d, ONE(1), &out), CK_TYPE_ERROR);
    cr_expect(strstr(ck_last_error(), "float32") && strstr(ck_last_error(), "float64"), "%s",
              ck_last_error());
    cr_expect_eq(ck_batch_dot(i, f, ONE(1), &out), CK_TYPE_ERROR);
    /* a shape error is reported before a dtype mismatch, as in Keras */
    cr_expect_eq(ck_batch_dot(f, d, ONE(0), &out), CK_VALUE_ERROR);
    /* symbolic tensors have no data */
    ck_tensor sym = *f;
    sym.data = NULL;
    cr_expect_eq(ck_batch_dot(&sym, f, ONE(1), &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "data"), "%s", ck_last_error());
    sym.shape[0] = -1;
    cr_expect_eq(ck_batch_dot(f, &sym, ONE(1), &out), CK_VALUE_ERROR);
    cr_expect_eq(ck_batch_dot(NULL, f, ONE(1), &out), CK_VALUE_ERROR);
    cr_expect_eq(ck_batch_dot(f, f, ONE(1), NULL), CK_VALUE_ERROR);
    cr_expect_eq(out, (ck_tensor *)0x1, "output untouched on error");
    ck_tensor_free(f);
    ck_tensor_free(d);
    ck_tensor_free(i);
}

Test(batch_dot_errors, into_checks_the_output)
{
    int64_t xs[] = {2, 3, 4}, ys[] = {2, 4, 5}, os[] = {2, 3, 5}, bad[] = {2, 5, 3};
    ck_tensor *x = bd_make_fill(CK_FLOAT32, 3, xs, 1), *y = bd_make_fill(CK_FLOAT32, 3, ys, 1);
    ck_tensor *wrong_shape = bd_make_fill(CK_FLOAT32, 3, bad, -3);
    ck_tensor *wrong_dtype = bd_make_fill(CK_FLOAT64, 3, os, -3);
    ck_tensor *wrong_rank = bd_make_fill(CK_FLOAT32, 2, os, -3);
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, wrong_shape), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "(2, 5, 3)") && strstr(ck_last_error(), "(2, 3, 5)"),
              "%s", ck_last_error());
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, wrong_dtype), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "float64"), "%s", ck_last_error());
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, wrong_rank), CK_VALUE_ERROR);
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, NULL), CK_VALUE_ERROR);
    for (int64_t i = 0; i < wrong_shape->size; i++)
        cr_expect_eq(((float *)wrong_shape->data)[i], -3.0f, "output untouched");
    /* output sharing an input's memory */
    int64_t sq[] = {2, 4, 4};
    ck_tensor *q = bd_make_fill(CK_FLOAT32, 3, sq, 1);
    cr_expect_eq(ck_batch_dot_into(q, q, NONE, q), CK_VALUE_ERROR);
    /* an output without data */
    ck_tensor *ok = bd_make(CK_FLOAT32, 3, os, NULL);
    ck_tensor nodata = *ok;
    nodata.data = NULL;
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, &nodata), CK_VALUE_ERROR);
    cr_expect_eq(ck_batch_dot_into(x, y, NONE, ok), CK_OK, "%s", ck_last_error());
    for (int64_t i = 0; i < ok->size; i++) cr_expect_eq(((float *)ok->data)[i], 4.0f);
    ck_tensor_free(ok);
    ck_tensor_free(q);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_tensor_free(wrong_shape);
    ck_tensor_free(wrong_dtype);
    ck_tensor_free(wrong_rank);
}
