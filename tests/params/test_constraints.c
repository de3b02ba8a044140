#include "params/fixture.h"
#include "params/params.h"

Test(constraints, goldens)
{
    json_t *root = fx_load_data("params/constraints.json");
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        const json_t *cfg = json_object_get(c, "config");
        char *ident = json_is_string(cfg) ? strdup(json_string_value(cfg))
                                          : json_dumps(cfg, JSON_COMPACT);
        ck_constraint *k = NULL;
        cr_assert_eq(ck_constraint_new(&k, ident), CK_OK, "%s: %s", ident, ck_last_error());
        for (int d = 0; d < 2; d++) {
            ck_dtype dt = d ? CK_FLOAT32 : CK_FLOAT64;
            ck_tensor *w = fx_tensor(json_object_get(c, "shape"), json_object_get(c, "input"), dt);
            cr_assert_eq(ck_constraint_apply(k, w), CK_OK, "%s: %s", ident, ck_last_error());
            const json_t *exp = json_object_get(c, "expected");
            for (int64_t n = 0; n < w->size; n++) {
                double e = fx_num(json_array_get(exp, (size_t)n));
                double rtol = json_object_get(c, "rtol") ? json_number_value(json_object_get(c, "rtol"))
                                                         : (d ? 1e-6 : 1e-12);
                cr_expect(fx_close(ck_tensor_get(w, n), e, rtol, d ? 1e-7 : 1e-14),
                          "%s %s [%lld]: %.17g vs %.17g", ident, ck_dtype_name(dt), (long long)n,
                          ck_tensor_get(w, n), e);
            }
            ck_tensor_free(w);
        }
        ck_constraint_free(k);
        free(ident);
    }
    json_decref(root);
}

/* TF2.15 constraints_test properties on a (100, 100) array in [-50, 50). */
static ck_tensor *example(void)
{
    int64_t shape[2] = {100, 100};
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, 2, shape), CK_OK);
    uint64_t s = 12345;
    for (int64_t i = 0; i < t->size; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ((float *)t->data)[i] = (float)((double)(s >> 11) * 0x1.0p-53 * 100 - 50);
    }
    return t;
}

static double col_norm(const ck_tensor *t, int64_t j)
{
    double s = 0;
    for (int64_t i = 0; i < t->shape[0]; i++) {
        double v = ck_tensor_get(t, i * t->shape[1] + j);
        s += v * v;
    }
    return sqrt(s);
}

Test(constraints, keras_properties)
{
    static const double ms[] = {0.1, 0.5, 3, 8, 1e-7};
    for (size_t k = 0; k < 5; k++) {
        char text[96];
        snprintf(text, sizeof text, "{\"class_name\": \"MaxNorm\", \"config\": {\"max_value\": %g}}", ms[k]);
        ck_constraint *c = NULL;
        cr_assert_eq(ck_constraint_new(&c, text), CK_OK);
        ck_tensor *t = example();
        cr_assert_eq(ck_constraint_apply(c, t), CK_OK);
        for (int64_t i = 0; i < t->size; i++) cr_assert(ck_tensor_get(t, i) < ms[k]);
        ck_tensor_free(t);
        ck_constraint_free(c);

        snprintf(text, sizeof text, "{\"class_name\": \"MinMaxNorm\", \"config\": {\"min_value\": %g, "
                 "\"max_value\": %g}}", ms[k], 2 * ms[k]);
        cr_assert_eq(ck_constraint_new(&c, text), CK_OK);
        t = example();
        cr_assert_eq(ck_constraint_apply(c, t), CK_OK);
        for (int64_t j = 0; j < 100; j++) {
            double n = col_norm(t, j);
            cr_expect(!(n < ms[k] * (1 - 1e-5)) && !(n > 2 * ms[k] + 1e-5), "m=%g norm %g", ms[k], n);
        }
        ck_tensor_free(t);
        ck_constraint_free(c);
    }
    ck_constraint *c = NULL;
    cr_assert_eq(ck_constraint_new(&c, "unit_norm"), CK_OK);
    ck_tensor *t = example();
    cr_assert_eq(ck_constraint_apply(c, t), CK_OK);
    for (int64_t j = 0; j < 100; j++) cr_expect(fabs(col_norm(t, j) - 1) < 1e-4);
    ck_tensor_free(t);
    ck_constraint_free(c);
    cr_assert_eq(ck_constraint_new(&c, "non_neg"), CK_OK);
    t = example();
    cr_assert_eq(ck_constraint_apply(c, t), CK_OK);
    for (int64_t i = 0; i < 100; i++) {
        double mn = INFINITY;
        for (int64_t j = 0; j < 100; j++) mn = fmin(mn, ck_tensor_get(t, i * 100 + j));
        cr_expect_eq(mn, 0.0);
    }
    ck_tensor_free(t);
    int32_t iv[4] = {-3, 2, 0, -1};
    int64_t four = 4;
    cr_assert_eq(ck_tensor_from_data(&t, CK_INT32, 1, &four, iv), CK_OK);
    cr_assert_eq(ck_constraint_apply(c, t), CK_OK);
    cr_expect(ck_tensor_get(t, 0) == 0 && ck_tensor_get(t, 1) == 2 && ck_tensor_get(t, 3) == 0);
    ck_tensor_free(t);
    ck_constraint_free(c);
}

Test(constraints, radial_property)
{
    ck_constraint *c = NULL;
    cr_assert_eq(ck_constraint_new(&c, "radial_constraint"), CK_OK);
    for (int64_t w = 3; w <= 6; w++) {
        int64_t shape[4] = {w, w, 2, 2};
        ck_tensor *t = NULL;
        cr_assert_eq(ck_tensor_new(&t, CK_FLOAT64, 4, shape), CK_OK);
        for (int64_t i = 0; i < t->size; i++) ((double *)t->data)[i] = (double)(i * 7919 % 1013) / 1013.0;
        cr_assert_eq(ck_constraint_apply(c, t), CK_OK);
        cr_expect(t->rank == 4 && t->shape[0] == w && t->shape[1] == w);
        for (int64_t s = 0; s < 4; s++) {
            double first = ck_tensor_get(t, s);
            double distinct[16];
            int nd = 0;
            for (int64_t r = 0; r < w; r++) {
                cr_expect_eq(ck_tensor_get(t, (r * w) * 4 + s), first, "first column constant");
                for (int64_t col = 0; col < w; col++) {
                    double v = ck_tensor_get(t, (r * w + col) * 4 + s);
                    int found = 0;
                    for (int k = 0; k < nd; k++) found |= distinct[k] == v;
                    if (!found) distinct[nd++] = v;
                }
            }
            cr_expect_eq(nd, (int)((w + 1) / 2), "w=%lld: %d distinct values", (long long)w, nd);
        }
        ck_tensor_free(t);
    }
    int64_t bad[3] = {3, 3, 2}, rect[4] = {3, 4, 1, 1};
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, 3, bad), CK_OK);
    cr_expect_eq(ck_constraint_apply(c, t), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "must have rank 4") != NULL, "%s", ck_last_error());
    ck_tensor_free(t);
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, 4, rect), CK_OK);
    cr_expect_eq(ck_constraint_apply(c, t), CK_VALUE_ERROR);
    ck_tensor_free(t);
    ck_constraint_free(c);
}

Test(constraints, config_round_trips)
{
    json_t *root = fx_load_data("params/constraints.json");
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(root, "configs"), i, c) {
        const char *ident = json_string_value(json_object_get(c, "identifier"));
        const char *expected = json_string_value(json_object_get(c, "config_text"));
        ck_constraint *k = NULL, *back = NULL, *copy = NULL;
        cr_assert_eq(ck_constraint_new(&k, ident), CK_OK, "%s: %s", ident, ck_last_error());
        char *text = ck_constraint_config(k);
        cr_expect_str_eq(text, expected, "from %s", ident);
        cr_assert_eq(ck_constraint_new(&back, text), CK_OK);
        cr_assert_eq(ck_constraint_copy(&copy, back), CK_OK);
        char *text2 = ck_constraint_config(copy);
        cr_expect_str_eq(text2, expected);
        json_t *j = json_loads(expected, 0, NULL);
        cr_expect_str_eq(ck_constraint_class_name(copy), json_string_value(json_object_get(j, "class_name")));
        json_decref(j);
        ck_free(text);
        ck_free(text2);
        ck_constraint_free(k);
        ck_constraint_free(back);
        ck_constraint_free(copy);
    }
    json_decref(root);
    ck_constraint *k = (ck_constraint *)0x1;
    cr_assert_eq(ck_constraint_from_json(json_null(), &k), CK_OK);
    cr_expect_null(k);
    json_t *n = ck_constraint_to_json(NULL);
    cr_expect(json_is_null(n));
    json_decref(n);
}

Test(constraints, errors)
{
    static const struct {
        const char *text;
        ck_status st;
        const char *fragment;
    } cases[] = {
        {"max", CK_VALUE_ERROR, "Unknown constraint: 'max'"},
        {"{\"class_name\": \"MaxNorm\", \"config\": {\"axis\": \"x\"}}", CK_VALUE_ERROR, "axis"},
        {"{\"class_name\": \"MaxNorm\", \"config\": {\"axis\": [0, \"x\"]}}", CK_VALUE_ERROR, "axis"},
        {"{\"class_name\": \"MaxNorm\", \"config\": {\"axis\": []}}", CK_VALUE_ERROR, "axis"},
        {"{\"class_name\": \"MaxNorm\", \"config\": {\"max_value\": null}}", CK_VALUE_ERROR, "max_value"},
        {"{\"class_name\": \"NonNeg\", \"config\": {\"axis\": 0}}", CK_TYPE_ERROR, "unexpected keyword"},
        {"{\"class_name\": \"UnitNorm\"", CK_FORMAT_ERROR, "malformed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_constraint *c = (ck_constraint *)0x1;
        cr_expect_eq(ck_constraint_new(&c, cases[i].text), cases[i].st, "%s: %s", cases[i].text,
                     ck_last_error());
        cr_expect(strstr(ck_last_error(), cases[i].fragment) != NULL, "%s: %s", cases[i].text,
                  ck_last_error());
        cr_expect_eq(c, (ck_constraint *)0x1);
    }
    ck_constraint *c = NULL;
    cr_assert_eq(ck_constraint_new(&c, "{\"class_name\": \"UnitNorm\", \"config\": {\"axis\": 2}}"), CK_OK);
    int64_t shape[2] = {2, 2};
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, 2, shape), CK_OK);
    cr_expect_eq(ck_constraint_apply(c, t), CK_VALUE_ERROR);
    ck_tensor_free(t);
    cr_assert_eq(ck_tensor_new(&t, CK_INT32, 2, shape), CK_OK);
    cr_expect_eq(ck_constraint_apply(c, t), CK_TYPE_ERROR);
    ck_tensor_free(t);
    ck_constraint_free(c);
}

static ck_constraint *oom_con;
static ck_tensor *oom_w;
static ck_status oom_new(void *ctx) { return ck_constraint_new(&oom_con, (const char *)ctx); }
static void oom_cleanup(void *ctx)
{
    (void)ctx;
    ck_constraint_free(oom_con);
    oom_con = NULL;
}
static ck_status oom_apply(void *ctx) { return ck_constraint_apply((const ck_constraint *)ctx, oom_w); }
static void no_cleanup(void *ctx) { (void)ctx; }

Test(constraints, failing_allocations)
{
    cr_expect_geq(ck_test_every_allocation_fails(oom_new, oom_cleanup, "max_norm"), 2); /* jansson allocates too */
    cr_expect_geq(ck_test_every_allocation_fails(
                     oom_new, oom_cleanup,
                     "{\"class_name\": \"MinMaxNorm\", \"config\": {\"axis\": [0, 1]}}"), 2); /* jansson allocates too */
    ck_constraint *c = NULL;
    cr_assert_eq(ck_constraint_new(&c, "radial_constraint"), CK_OK);
    int64_t shape[4] = {3, 3, 1, 1};
    cr_assert_eq(ck_tensor_new(&oom_w, CK_FLOAT32, 4, shape), CK_OK);
    cr_expect_eq(ck_test_every_allocation_fails(oom_apply, no_cleanup, c), 1);
    ck_tensor_free(oom_w);
    ck_constraint_free(c);
}
