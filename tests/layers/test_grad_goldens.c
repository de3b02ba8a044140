/* Layer gradients in float32 against tf.keras 2.15's own (GradientTape,
 * tools/gen_layer_grad_goldens.py): Dense with relu / softmax, Dot with
 * normalize and transposed axes, Concatenate, Embedding, Add with
 * broadcasting, Maximum's ties.  Shows agreement with Keras, not only
 * with our central differences. */
#include <stdlib.h>

#include "layers/layer.h"
#include "params/fixture.h"

static ck_tensor *input_of(const json_t *j)
{
    const char *dt = json_string_value(json_object_get(j, "dtype"));
    ck_tensor *t = fx_tensor(json_object_get(j, "shape"), json_object_get(j, "values"), CK_FLOAT32);
    if (strcmp(dt, "int32") != 0) return t;
    /* fx_tensor writes floats only: the indices are converted here. */
    ck_tensor *k = NULL;
    cr_assert_eq(ck_tensor_new(&k, CK_INT32, t->rank, t->shape), CK_OK);
    for (int64_t i = 0; i < t->size; i++) ((int32_t *)k->data)[i] = (int32_t)((float *)t->data)[i];
    ck_tensor_free(t);
    return k;
}

static void expect_close(const ck_tensor *got, const json_t *want, const char *name, const char *what)
{
    cr_assert_eq((size_t)got->size, json_array_size(want), "%s %s: size", name, what);
    for (int64_t i = 0; i < got->size; i++) {
        double e = fx_num(json_array_get(want, (size_t)i)), g = ck_tensor_get(got, i);
        cr_expect(fx_close(g, e, 1e-4, 1e-5), "%s %s[%lld]: got %.9g, TF %.9g", name, what, (long long)i, g, e);
    }
}

static void run_case(const json_t *c)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    char *cfg = json_dumps(json_object_get(c, "config"), 0);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(cfg, &l), CK_OK, "%s: %s", name, ck_last_error());
    free(cfg);
    const json_t *ji = json_object_get(c, "inputs");
    int n = (int)json_array_size(ji);
    ck_tensor *in[8], *din[8] = {NULL};
    ck_shape shapes[8], oshape;
    for (int i = 0; i < n; i++) {
        in[i] = input_of(json_array_get(ji, (size_t)i));
        shapes[i] = ck_tensor_shape(in[i]);
        if (in[i]->dtype == CK_FLOAT32) cr_assert_eq(ck_tensor_new(&din[i], CK_FLOAT32, in[i]->rank, in[i]->shape), CK_OK);
    }
    cr_assert_eq(ck_layer_build(l, n, shapes), CK_OK, "%s: %s", name, ck_last_error());
    const json_t *jw = json_object_get(c, "weights");
    int nw = (int)json_array_size(jw);
    ck_tensor *w[8];
    for (int k = 0; k < nw; k++) {
        const ck_tensor *v = ck_weight_value(ck_layer_weight(l, k));
        json_t *shape = json_array();
        for (int d = 0; d < v->rank; d++) json_array_append_new(shape, json_integer(v->shape[d]));
        w[k] = fx_tensor(shape, json_array_get(jw, (size_t)k), CK_FLOAT32);
        json_decref(shape);
    }
    cr_assert_eq(ck_layer_set_weights(l, nw, w), CK_OK, "%s", ck_last_error());
    for (int k = 0; k < nw; k++) {
        ck_weight *wt = ck_layer_weight(l, k);
        cr_assert_eq(ck_tensor_new(&wt->grad, CK_FLOAT32, w[k]->rank, w[k]->shape), CK_OK);
    }
    cr_assert_eq(l->cls->compute_output_shape(l, n, shapes, &oshape), CK_OK);
    ck_tensor *out = NULL, *dout = NULL;
    cr_assert_eq(ck_tensor_new(&out, CK_FLOAT32, oshape.rank, oshape.dims), CK_OK);
    cr_assert_eq(ck_tensor_new(&dout, CK_FLOAT32, oshape.rank, oshape.dims), CK_OK);
    const json_t *jd = json_object_get(c, "dout");
    cr_assert_eq((size_t)dout->size, json_array_size(jd), "%s: dout size", name);
    for (int64_t i = 0; i < dout->size; i++) ((float *)dout->data)[i] = (float)fx_num(json_array_get(jd, (size_t)i));
    size_t bytes = ck_layer_saved_bytes(l, n, shapes, &oshape);
    void *saved = aligned_alloc(64, bytes ? bytes : 64);
    ck_train_ctx ctx = {.training = 1};
    cr_assert_eq(ck_layer_train_call(l, &ctx, n, (const ck_tensor *const *)in, &out, saved), CK_OK, "%s: %s", name,
                 ck_last_error());
    cr_assert_eq(ck_layer_backward(l, &ctx, n, (const ck_tensor *const *)in, out, dout, saved, din), CK_OK, "%s: %s",
                 name, ck_last_error());
    const json_t *jig = json_object_get(c, "input_grads"), *jwg = json_object_get(c, "weight_grads");
    int gi = 0;
    for (int i = 0; i < n; i++)
        if (din[i]) expect_close(din[i], json_array_get(jig, (size_t)gi++), name, "input grad");
    for (int k = 0; k < nw; k++) expect_close(ck_layer_weight(l, k)->grad, json_array_get(jwg, (size_t)k), name,
                                              "weight grad");
    for (int k = 0; k < nw; k++) {
        ck_tensor_free(ck_layer_weight(l, k)->grad);
        ck_layer_weight(l, k)->grad = NULL;
        ck_tensor_free(w[k]);
    }
    for (int i = 0; i < n; i++) {
        ck_tensor_free(in[i]);
        ck_tensor_free(din[i]);
    }
    free(saved);
    ck_tensor_free(out);
    ck_tensor_free(dout);
    ck_layer_free(l);
}

Test(grad_goldens, tensorflow_float32)
{
    json_t *root = fx_load_data("train/layer_grads/goldens.json");
    const json_t *cases = json_object_get(root, "cases");
    cr_assert(json_array_size(cases) >= 8);
    for (size_t c = 0; c < json_array_size(cases); c++) run_case(json_array_get(cases, c));
    json_decref(root);
}
