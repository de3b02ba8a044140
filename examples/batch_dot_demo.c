/* examples/batch_dot_demo.c: tf.keras backend.batch_dot on the documented
 * examples (keras-spec.md 1.5), printed beside what Keras gives. */
#include <stdio.h>
#include <string.h>

#include "ckeras.h"

static int show(const char *title, const ck_tensor *x, const ck_tensor *y, ck_axes axes, const char *keras)
{
    ck_tensor *r = NULL;
    char shape[64];
    printf("%s\n", title);
    if (ck_batch_dot(x, y, axes, &r) != CK_OK) {
        printf("  ckeras: %s: %s\n  Keras:  %s\n\n", ck_status_name(ck_last_status()), ck_last_error(), keras);
        return 0;
    }
    printf("  ckeras: shape %s values", ck_shape_str(shape, sizeof shape, r->rank, r->shape));
    for (int64_t i = 0; i < r->size; i++) printf(" %g", ck_tensor_get(r, i));
    printf("\n  Keras:  %s\n\n", keras);
    ck_tensor_free(r);
    return 0;
}

int main(void)
{
    float a2[] = {1, 2, 3, 4}, b2[] = {5, 6, 7, 8};
    ck_tensor *x2 = NULL, *y2 = NULL, *x3 = NULL, *y3 = NULL, *xi = NULL, *yi = NULL;
    ck_tensor *p = NULL, *q = NULL;
    int64_t xv[10], yv[10];
    for (int i = 0; i < 10; i++) xv[i] = i, yv[i] = 10 + i;
    int ok = ck_tensor_from_data(&x2, CK_FLOAT32, 2, (int64_t[]){2, 2}, a2) == CK_OK &&
             ck_tensor_from_data(&y2, CK_FLOAT32, 2, (int64_t[]){2, 2}, b2) == CK_OK &&
             ck_tensor_from_data(&x3, CK_FLOAT32, 3, (int64_t[]){1, 2, 2}, a2) == CK_OK &&
             ck_tensor_from_data(&y3, CK_FLOAT32, 3, (int64_t[]){1, 2, 2}, b2) == CK_OK &&
             ck_tensor_from_data(&xi, CK_INT64, 3, (int64_t[]){1, 5, 2}, xv) == CK_OK &&
             ck_tensor_from_data(&yi, CK_INT64, 3, (int64_t[]){1, 2, 5}, yv) == CK_OK &&
             ck_tensor_new(&p, CK_FLOAT32, 3, (int64_t[]){32, 20, 1}) == CK_OK &&
             ck_tensor_new(&q, CK_FLOAT32, 3, (int64_t[]){32, 30, 20}) == CK_OK;
    if (!ok) {
        fprintf(stderr, "batch_dot_demo: %s\n", ck_last_error());
        return 1;
    }
    printf("tf.keras backend.batch_dot, computed by ckeras %s\n\n", ck_version());
    show("x=[[1,2],[3,4]], y=[[5,6],[7,8]], axes=1 (rank 2: row-wise dots)", x2, y2, ck_axes_one(1),
         "shape (2, 1) values 17 53");
    show("rank 3, batch of 1, axes=1 (x^T y)", x3, y3, ck_axes_one(1), "shape (1, 2, 2) values 26 30 38 44");
    show("rank 3, batch of 1, axes=2 (x y^T; its diagonal is 17, 53)", x3, y3, ck_axes_one(2),
         "shape (1, 2, 2) values 17 23 39 53");
    show("rank 3, batch of 1, axes=(1,2)", x3, y3, ck_axes_pair(1, 2), "shape (1, 2, 2) values 23 31 34 46");
    show("rank 3, batch of 1, axes=None (x y)", x3, y3, (ck_axes){0, {0, 0}}, "shape (1, 2, 2) values 19 22 43 50");
    show("int64 Dot docstring: arange(10).reshape(1,5,2) . arange(10,20).reshape(1,2,5), axes=(1,2)", xi, yi,
         ck_axes_pair(1, 2), "int64 shape (1, 2, 2) values 260 360 320 445");
    ck_tensor *r = NULL;
    char shape[64];
    if (ck_batch_dot(p, q, ck_axes_pair(1, 2), &r) == CK_OK) {
        printf("(32,20,1) x (32,30,20), axes=(1,2)\n  ckeras: shape %s\n  Keras:  shape (32, 1, 30)\n\n",
               ck_shape_str(shape, sizeof shape, r->rank, r->shape));
        ck_tensor_free(r);
    }
    show("axes=0 (the batch axis)", x2, y2, ck_axes_one(0), "ValueError: cannot do batch_dot on axis 0");
    printf("Note: older TensorFlow docs claim [[[1,2],[3,4]]] . [[[5,6],[7,8]]] with axes=1 gives\n"
           "[[17, 53]]; no axes give that (see above): Keras gives x^T y for axes=1.\n");
    ck_tensor_free(x2); ck_tensor_free(y2); ck_tensor_free(x3); ck_tensor_free(y3);
    ck_tensor_free(xi); ck_tensor_free(yi); ck_tensor_free(p); ck_tensor_free(q);
    return 0;
}
