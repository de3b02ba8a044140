#include <float.h>
#include <stdlib.h>

#include "params/fixture.h"
#include "params/params.h"

static ck_activation_opts opts_from(const json_t *o)
{
    ck_activation_opts opts = {0};
    const json_t *v;
    if ((v = json_object_get(o, "alpha"))) {
        opts.alpha = ck_double(json_number_value(v));
    }
    if ((v = json_object_get(o, "max_value"))) {
        opts.max_value = ck_double(json_number_value(v));
    }
    if ((v = json_object_get(o, "threshold"))) opts.threshold = json_number_value(v);
    if ((v = json_object_get(o, "approximate"))) opts.approximate = json_is_true(v);
    if ((v = json_object_get(o, "axis"))) {
        opts.naxes = (int)json_array_size(v);
        for (int i = 0; i < opts.naxes; i++)
            opts.axes[i] = (int)json_integer_value(json_array_get(v, (size_t)i));
    }
    return opts;
}

static void check_case(const json_t *c, ck_dtype dtype, int in_place)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    ck_activation_opts opts = opts_from(json_object_get(c, "opts"));
    ck_activation *a = NULL;
    cr_assert_eq(ck_activation_new(&a, name, &opts), CK_OK, "%s: %s", name, ck_last_error());
    ck_tensor *x = fx_tensor(json_object_get(c, "shape"), json_object_get(c, "input"), dtype);
    ck_tensor *y = x;
    if (!in_place) cr_assert_eq(ck_tensor_new(&y, dtype, x->rank, x->shape), CK_OK);
    cr_assert_eq(ck_activation_apply(a, x, y), CK_OK, "%s: %s", name, ck_last_error());
    const json_t *exp = json_object_get(c, "expected");
    double rtol = dtype == CK_FLOAT32 ? 1e-6 : 1e-10;
    double atol = dtype == CK_FLOAT32 ? 1e-7 : 1e-13;
    char *opts_text = json_dumps(json_object_get(c, "opts"), JSON_COMPACT);
    for (int64_t i = 0; i < y->size; i++) {
        double e = fx_num(json_array_get(exp, (size_t)i));
        double g = ck_tensor_get(y, i);
        /* A finite double beyond float32's range is inf in float32. */
        if (dtype == CK_FLOAT32 && isfinite(e) && fabs(e) > FLT_MAX) e = e > 0 ? INFINITY : -INFINITY;
        cr_expect(fx_close(g, e, rtol, atol), "%s %s %s[%lld] (x=%.9g): got %.17g expected %.17g",
                  name, opts_text, ck_dtype_name(dtype), (long long)i,
                  fx_num(json_array_get(json_object_get(c, "input"), (size_t)i)), g, e);
    }
    free(opts_text);
    if (y != x) ck_tensor_free(y);
    ck_tensor_free(x);
    ck_activation_free(a);
}

Test(activations, goldens_float64_and_float32)
{
    json_t *root = fx_load_data("params/activations.json");
    const json_t *cases = json_object_get(root, "cases");
    cr_assert(json_array_size(cases) > 100);
    size_t i;
    const json_t *c;
    json_array_foreach(cases, i, c) {
        check_case(c, CK_FLOAT64, 0);
        check_case(c, CK_FLOAT32, 0);
        check_case(c, CK_FLOAT32, 1);
    }
    json_decref(root);
}

Test(activations, every_name_is_covered_by_goldens)
{
    static const char *names[] = {"linear", "relu", "elu", "selu", "softplus", "softsign",
                                  "sigmoid", "hard_sigmoid", "exponential", "tanh", "softmax",
                                  "swish", "silu", "gelu", "relu6", "leaky_relu", "mish",
                                  "log_softmax", "hard_silu", "hard_tanh", "log_sigmoid", "celu"};
    json_t *root = fx_load_data("params/activations.json");
    const json_t *cases = json_object_get(root, "cases");
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int found = 0;
        size_t i;
        const json_t *c;
        json_array_foreach(cases, i, c) found |= strcmp(json_string_value(json_object_get(c, "name")), names[k]) == 0;
        cr_expect(found, "no golden for %s", names[k]);
        ck_activation *a = NULL;
        cr_assert_eq(ck_activation_new(&a, names[k], NULL), CK_OK);
        cr_expect_str_eq(ck_activation_name(a), names[k]);
        ck_activation_free(a);
    }
    json_decref(root);
}

Test(activations, hand_values)
{
    /* Values worked out by hand from Keras' definitions. */
    double x[6] = {-3, -2.5, -1, 0, 2.5, 3};
    int64_t shape[2] = {1, 6};
    ck_tensor *t = NULL, *o = NULL;
    cr_assert_eq(ck_tensor_from_data(&t, CK_FLOAT64, 2, shape, x), CK_OK);
    cr_assert_eq(ck_tensor_new(&o, CK_FLOAT64, 2, shape), CK_OK);
    ck_activation *a = NULL;
    cr_assert_eq(ck_activation_new(&a, "hard_sigmoid", NULL), CK_OK);
    cr_assert_eq(ck_activation_apply(a, t, o), CK_OK);
    double hs[6] = {0, 0, 0.3, 0.5, 1, 1}; /* tf.keras: clip(0.2x+0.5, 0, 1) */
    for (int i = 0; i < 6; i++) cr_expect_float_eq(((double *)o->data)[i], hs[i], 1e-15);
    ck_activation_free(a);
    cr_assert_eq(ck_activation_new(&a, "relu6", NULL), CK_OK);
    cr_assert_eq(ck_activation_apply(a, t, o), CK_OK);
    cr_expect_eq(((double *)o->data)[5], 3.0);
    cr_expect_eq(((double *)o->data)[0], 0.0);
    ck_activation_free(a);
    ck_tensor_free(t);
    ck_tensor_free(o);
}

Test(activations, rows_fast_path_matches_apply)
{
    static const char *names[] = {"softmax", "relu", "gelu", "sigmoid", "log_softmax", "linear"};
    float data[12], ref[12];
    for (int i = 0; i < 12; i++) data[i] = (float)(i * 0.7 - 4);
    int64_t shape[2] = {3, 4};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        ck_activation *a = NULL;
        cr_assert_eq(ck_activation_new(&a, names[k], NULL), CK_OK);
        ck_tensor *x = NULL, *y = NULL;
        cr_assert_eq(ck_tensor_from_data(&x, CK_FLOAT32, 2, shape, data), CK_OK);
        cr_assert_eq(ck_tensor_new(&y, CK_FLOAT32, 2, shape), CK_OK);
        cr_assert_eq(ck_activation_apply(a, x, y), CK_OK);
        memcpy(ref, data, sizeof ref);
        cr_assert_eq(ck_activation_apply_rows(a, CK_FLOAT32, ref, 3, 4), CK_OK);
        for (int i = 0; i < 12; i++) cr_expect_eq(ref[i], ((float *)y->data)[i], "%s", names[k]);
        if (strcmp(names[k], "softmax") == 0)
            for (int r = 0; r < 3; r++)
                cr_expect_float_eq(ref[4 * r] + ref[4 * r + 1] + ref[4 * r + 2] + ref[4 * r + 3],
                                   1.0f, 1e-6);
        ck_tensor_free(x);
        ck_tensor_free(y);
        ck_activation_free(a);
    }
    ck_activation *a = NULL;
    cr_assert_eq(ck_activation_new(&a, "softmax", NULL), CK_OK);
    cr_expect_eq(ck_activation_apply_rows(a, CK_INT32, data, 3, 4), CK_TYPE_ERROR);
    cr_expect_eq(ck_activation_apply_rows(a, CK_FLOAT32, NULL, 3, 4), CK_VALUE_ERROR);
    cr_expect_eq(ck_activation_apply_rows(a, CK_FLOAT32, data, -1, 4), CK_VALUE_ERROR);
    cr_expect_eq(ck_activation_apply_rows(a, CK_FLOAT64, NULL, 0, 4), CK_OK);
    ck_activation_free(a);
}

Test(activations, errors)
{
    ck_activation *a = (ck_activation *)0x1;
    cr_expect_eq(ck_activation_new(&a, "foo", NULL), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Unknown activation function: 'foo'") != NULL, "%s",
              ck_last_error());
    cr_expect_eq(a, (ck_activation *)0x1);
    ck_activation_opts bad = {.naxes = 9};
    cr_expect_eq(ck_activation_new(&a, "softmax", &bad), CK_VALUE_ERROR);
    cr_expect_eq(a, (ck_activation *)0x1);

    cr_assert_eq(ck_activation_new(&a, "softmax", NULL), CK_OK);
    int64_t s1[1] = {5}, s2[2] = {2, 3}, s3[2] = {3, 2};
    ck_tensor *v = NULL, *m = NULL, *m2 = NULL, *mi = NULL;
    cr_assert_eq(ck_tensor_new(&v, CK_FLOAT32, 1, s1), CK_OK);
    cr_expect_eq(ck_activation_apply(a, v, v), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Cannot apply softmax to a tensor that is 1D") != NULL, "%s",
              ck_last_error());
    cr_assert_eq(ck_tensor_new(&m, CK_FLOAT32, 2, s2), CK_OK);
    cr_assert_eq(ck_tensor_new(&m2, CK_FLOAT32, 2, s3), CK_OK);
    cr_assert_eq(ck_tensor_new(&mi, CK_INT32, 2, s2), CK_OK);
    cr_expect_eq(ck_activation_apply(a, m, m2), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "(3, 2)") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_activation_apply(a, mi, mi), CK_TYPE_ERROR);
    ck_activation_free(a);

    ck_activation_opts ax = {.naxes = 1, .axes = {2}};
    cr_assert_eq(ck_activation_new(&a, "softmax", &ax), CK_OK);
    cr_expect_eq(ck_activation_apply(a, m, m), CK_VALUE_ERROR);
    ck_activation_free(a);
    ck_activation_opts dup = {.naxes = 2, .axes = {1, -1}};
    cr_assert_eq(ck_activation_new(&a, "softmax", &dup), CK_OK);
    cr_expect_eq(ck_activation_apply(a, m, m), CK_VALUE_ERROR);
    ck_activation_free(a);
    ck_tensor_free(v);
    ck_tensor_free(m);
    ck_tensor_free(m2);
    ck_tensor_free(mi);
}

static char *to_text(const ck_activation *a)
{
    json_t *j = ck_activation_to_json(a);
    cr_assert(j != NULL);
    char *s = ck_json_dumps_python(j);
    json_decref(j);
    return s;
}

static ck_activation *from_text(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    cr_assert(j != NULL, "%s", text);
    ck_activation *a = NULL;
    cr_assert_eq(ck_activation_from_json(j, &a), CK_OK, "%s: %s", text, ck_last_error());
    json_decref(j);
    return a;
}

Test(activations, json_forms)
{
    static const struct {
        const char *in, *name, *out;
    } cases[] = {
        {"null", "linear", "\"linear\""},
        {"\"\"", "linear", "\"linear\""},
        {"\"relu\"", "relu", "\"relu\""},
        {"\"softmax_v2\"", "softmax", "\"softmax\""},
        {"\"hard_swish\"", "hard_silu", "\"hard_silu\""},
        {"{\"module\": \"builtins\", \"class_name\": \"function\", \"config\": \"tanh\", "
         "\"registered_name\": \"function\"}", "tanh", "\"tanh\""},
        {"{\"class_name\": \"sigmoid\", \"config\": null}", "sigmoid", "\"sigmoid\""},
        {"{\"class_name\": \"LeakyReLU\", \"config\": {\"name\": \"l\", \"trainable\": true, "
         "\"dtype\": \"float32\", \"alpha\": 0.3}}", "leaky_relu",
         "{\"class_name\": \"LeakyReLU\", \"config\": {\"alpha\": 0.3}}"},
        {"{\"class_name\": \"LeakyReLU\", \"config\": {\"negative_slope\": 0.1}}", "leaky_relu",
         "{\"class_name\": \"LeakyReLU\", \"config\": {\"alpha\": 0.1}}"},
        {"{\"class_name\": \"ReLU\", \"config\": {\"max_value\": 6.0, \"negative_slope\": 0.0, "
         "\"threshold\": 0.0}}", "relu",
         "{\"class_name\": \"ReLU\", \"config\": {\"max_value\": 6.0, \"negative_slope\": 0.0, "
         "\"threshold\": 0.0}}"},
        {"{\"class_name\": \"ThresholdedReLU\", \"config\": {\"theta\": 0.5}}", "relu",
         "{\"class_name\": \"ReLU\", \"config\": {\"max_value\": null, \"negative_slope\": 0.0, "
         "\"threshold\": 0.5}}"},
        {"{\"class_name\": \"ELU\", \"config\": {\"alpha\": 0.5}}", "elu",
         "{\"class_name\": \"ELU\", \"config\": {\"alpha\": 0.5}}"},
        {"{\"class_name\": \"Softmax\", \"config\": {\"axis\": [1, 2]}}", "softmax",
         "{\"class_name\": \"Softmax\", \"config\": {\"axis\": [1, 2]}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_activation *a = from_text(cases[i].in);
        cr_expect_str_eq(ck_activation_name(a), cases[i].name, "%s", cases[i].in);
        char *s = to_text(a);
        cr_expect_str_eq(s, cases[i].out, "%s", cases[i].in);
        /* and the written form reads back to the same thing */
        ck_activation *b = from_text(s);
        char *s2 = to_text(b);
        cr_expect_str_eq(s2, s);
        ck_free(s);
        ck_free(s2);
        ck_activation_free(a);
        ck_activation_free(b);
    }
    ck_activation *a = NULL;
    cr_assert_eq(ck_activation_from_json(NULL, &a), CK_OK);
    cr_expect_str_eq(ck_activation_name(a), "linear");
    ck_activation_free(a);
}

Test(activations, parametrised_functions_serialise_as_layers)
{
    ck_activation *a = NULL;
    ck_activation_opts o = {.alpha = {true, 0.25}, .max_value = {true, 4},
                            .threshold = 0.5};
    cr_assert_eq(ck_activation_new(&a, "relu", &o), CK_OK);
    char *s = to_text(a);
    cr_expect_str_eq(s, "{\"class_name\": \"ReLU\", \"config\": {\"max_value\": 4.0, "
                        "\"negative_slope\": 0.25, \"threshold\": 0.5}}");
    ck_free(s);
    ck_activation_opts got;
    ck_activation_get_opts(a, &got);
    cr_expect(got.alpha.set && got.alpha.value == 0.25 && got.max_value.set && got.max_value.value == 4);
    ck_activation_free(a);
    ck_activation_opts nanmax = {.max_value = {true, NAN}};
    cr_assert_eq(ck_activation_new(&a, "relu", &nanmax), CK_OK);
    s = to_text(a);
    cr_expect_str_eq(s, "\"relu\"", "NaN max_value means None");
    ck_free(s);
    ck_activation_free(a);
    cr_assert_eq(ck_activation_new(&a, "elu", NULL), CK_OK);
    ck_activation_get_opts(a, &got);
    cr_expect(got.alpha.set && got.alpha.value == 1.0);
    ck_activation *c = NULL;
    cr_assert_eq(ck_activation_copy(&c, a), CK_OK);
    cr_expect_str_eq(ck_activation_name(c), "elu");
    ck_activation_free(c);
    ck_activation_free(a);
}

Test(activations, json_errors)
{
    static const char *bad[] = {
        "\"foo\"", "3", "[1]", "{\"class_name\": \"PReLU\", \"config\": {}}",
        "{\"class_name\": \"LeakyReLU\", \"config\": {\"beta\": 1}}",
        "{\"class_name\": \"LeakyReLU\", \"config\": {\"alpha\": \"x\"}}",
        "{\"class_name\": \"Softmax\", \"config\": {\"axis\": \"x\"}}",
        "{\"class_name\": \"function\", \"config\": \"nope\"}",
        "{\"config\": {}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        cr_assert(j != NULL);
        ck_activation *a = (ck_activation *)0x1;
        ck_status st = ck_activation_from_json(j, &a);
        cr_expect(st == CK_VALUE_ERROR || st == CK_TYPE_ERROR, "%s gave %d", bad[i], st);
        cr_expect_eq(a, (ck_activation *)0x1);
        json_decref(j);
    }
    json_t *j = json_string("foo");
    ck_activation *a = NULL;
    cr_expect_eq(ck_activation_from_json(j, &a), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Unknown activation function: 'foo'") != NULL);
    json_decref(j);
    j = json_integer(3);
    cr_expect_eq(ck_activation_from_json(j, &a), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Could not interpret activation function identifier: 3") != NULL,
              "%s", ck_last_error());
    json_decref(j);
}

/* Real Keras 2.x outputs: Input(6) -> Dense(2) -> Activation(act). */
Test(activations, kerasjs_goldens)
{
    const char *path = ck_test_shared("keras/kerasjs-goldens/Activation.json");
    if (!path) cr_skip_test("shared test data absent");
    static const char *acts[] = {"softmax", "elu", "selu", "softplus", "softsign",
                                 "relu", "tanh", "sigmoid", "hard_sigmoid", "linear"};
    json_t *root = fx_load(path);
    for (int k = 0; k < 10; k++) {
        char key[32];
        snprintf(key, sizeof key, "core.Activation.%d", k);
        const json_t *c = json_object_get(root, key);
        cr_assert(c != NULL, "%s", key);
        const json_t *x = json_object_get(json_object_get(c, "input"), "data");
        const json_t *w = json_object_get(json_array_get(json_object_get(c, "weights"), 0), "data");
        const json_t *b = json_object_get(json_array_get(json_object_get(c, "weights"), 1), "data");
        const json_t *e = json_object_get(json_object_get(c, "expected"), "data");
        double h[2];
        for (int j = 0; j < 2; j++) {
            h[j] = json_number_value(json_array_get(b, (size_t)j));
            for (int i = 0; i < 6; i++)
                h[j] += json_number_value(json_array_get(x, (size_t)i)) *
                        json_number_value(json_array_get(w, (size_t)(i * 2 + j)));
        }
        float hf[2] = {(float)h[0], (float)h[1]};
        ck_activation *a = NULL;
        cr_assert_eq(ck_activation_new(&a, acts[k], NULL), CK_OK);
        cr_assert_eq(ck_activation_apply_rows(a, CK_FLOAT32, hf, 1, 2), CK_OK);
        for (int j = 0; j < 2; j++)
            cr_expect(fabs(hf[j] - json_number_value(json_array_get(e, (size_t)j))) <= 1.5e-6,
                      "%s[%d]: %.7g vs %.7g", acts[k], j, hf[j],
                      json_number_value(json_array_get(e, (size_t)j)));
        ck_activation_free(a);
    }
    json_decref(root);
}

static ck_activation *oom_act;

static ck_status oom_new(void *ctx)
{
    (void)ctx;
    ck_activation_opts o = {.alpha = {true, 0.5}};
    return ck_activation_new(&oom_act, "elu", &o);
}

static ck_status oom_from_json(void *ctx)
{
    return ck_activation_from_json((const json_t *)ctx, &oom_act);
}

static ck_status oom_copy(void *ctx)
{
    return ck_activation_copy(&oom_act, (const ck_activation *)ctx);
}

static void oom_cleanup(void *ctx)
{
    (void)ctx;
    ck_activation_free(oom_act);
    oom_act = NULL;
}

Test(activations, failing_allocations)
{
    cr_expect_eq(ck_test_every_allocation_fails(oom_new, oom_cleanup, NULL), 1);
    json_t *j = json_loads("{\"class_name\": \"ELU\", \"config\": {\"alpha\": 0.5}}", 0, NULL);
    cr_expect_eq(ck_test_every_allocation_fails(oom_from_json, oom_cleanup, j), 1);
    json_decref(j);
    ck_activation *a = NULL;
    cr_assert_eq(ck_activation_new(&a, "gelu", NULL), CK_OK);
    cr_expect_eq(ck_test_every_allocation_fails(oom_copy, oom_cleanup, a), 1);
    ck_activation_free(a);
}
