/* NaN through every activation as TensorFlow 2.15 lets it through
 * (tests/data/params/activation_nan.json from tools/gen_activation_nan.py).
 * A relu that maps NaN to 0 hides broken weights: a real file with NaN
 * weights gives NaN in tf.keras and must in ckeras too. */
#include "params/fixture.h"
#include "params/params.h"

static ck_activation_opts opts_from(const json_t *o)
{
    ck_activation_opts opts = {0};
    const json_t *v;
    if ((v = json_object_get(o, "alpha"))) opts.alpha = ck_double(json_number_value(v));
    if ((v = json_object_get(o, "max_value"))) opts.max_value = ck_double(json_number_value(v));
    if ((v = json_object_get(o, "threshold"))) opts.threshold = json_number_value(v);
    if ((v = json_object_get(o, "approximate"))) opts.approximate = json_is_true(v);
    return opts;
}

Test(activation_nan, every_activation_as_tensorflow)
{
    json_t *root = fx_load_data("params/activation_nan.json");
    const json_t *cases = json_object_get(root, "cases");
    cr_assert(json_array_size(cases) >= 60);
    for (size_t k = 0; k < json_array_size(cases); k++) {
        const json_t *c = json_array_get(cases, k);
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_dtype dtype = strcmp(json_string_value(json_object_get(c, "dtype")), "float32") == 0 ? CK_FLOAT32
                                                                                              : CK_FLOAT64;
        ck_activation_opts opts = opts_from(json_object_get(c, "opts"));
        ck_activation *a = NULL;
        cr_assert_eq(ck_activation_new(&a, name, &opts), CK_OK, "%s: %s", name, ck_last_error());
        ck_tensor *x = fx_tensor(json_object_get(c, "shape"), json_object_get(c, "input"), dtype), *y = NULL;
        cr_assert_eq(ck_tensor_new(&y, dtype, x->rank, x->shape), CK_OK);
        cr_assert_eq(ck_activation_apply(a, x, y), CK_OK, "%s: %s", name, ck_last_error());
        char *ot = json_dumps(json_object_get(c, "opts"), JSON_COMPACT);
        for (int64_t i = 0; i < y->size; i++) {
            double e = fx_num(json_array_get(json_object_get(c, "expected"), (size_t)i));
            double g = ck_tensor_get(y, i);
            /* TF's float32 softmax kernel gives 0 beside a NaN of the
             * same group (its float64 kernel and log_softmax give NaN for
             * the whole group); ckeras gives NaN for the whole group in
             * both precisions, so only the NaN positions are compared. */
            if (strcmp(name, "softmax") == 0 && dtype == CK_FLOAT32 && !isnan(e) && e == 0 && isnan(g)) continue;
            cr_expect(fx_close(g, e, 1e-6, 1e-7), "%s %s %s[%lld]: got %.9g expected %.9g", name, ot,
                      ck_dtype_name(dtype), (long long)i, g, e);
        }
        free(ot);
        ck_tensor_free(x);
        ck_tensor_free(y);
        ck_activation_free(a);
    }
    json_decref(root);
}
