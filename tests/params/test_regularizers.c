#include "params/fixture.h"
#include "params/params.h"

Test(regularizers, goldens_losses_and_configs)
{
    json_t *root = fx_load_data("params/regularizers.json");
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        const char *ident = json_string_value(json_object_get(c, "identifier"));
        const char *expected = json_string_value(json_object_get(c, "config_text"));
        ck_regularizer *r = NULL, *back = NULL;
        cr_assert_eq(ck_regularizer_new(&r, ident), CK_OK, "%s: %s", ident, ck_last_error());
        for (int d = 0; d < 2; d++) {
            ck_tensor *x = fx_tensor(json_object_get(c, "shape"), json_object_get(c, "input"),
                                     d ? CK_FLOAT32 : CK_FLOAT64);
            double loss = -1;
            cr_assert_eq(ck_regularizer_loss(r, x, &loss), CK_OK);
            double e = json_number_value(json_object_get(c, "loss"));
            cr_expect(fx_close(loss, e, 1e-12, 1e-15), "%s: loss %.17g expected %.17g", ident, loss, e);
            ck_tensor_free(x);
        }
        char *text = ck_regularizer_config(r);
        cr_expect_str_eq(text, expected, "from %s", ident);
        cr_assert_eq(ck_regularizer_new(&back, text), CK_OK);
        char *text2 = ck_regularizer_config(back);
        cr_expect_str_eq(text2, expected);
        ck_free(text);
        ck_free(text2);
        ck_regularizer_free(r);
        ck_regularizer_free(back);
    }
    json_decref(root);
}

Test(regularizers, float32_quirk_and_accessors)
{
    ck_regularizer *r = NULL;
    cr_assert_eq(ck_regularizer_new(&r, "l2"), CK_OK);
    char *text = ck_regularizer_config(r);
    cr_expect_str_eq(text, "{\"class_name\": \"L2\", \"config\": {\"l2\": 0.009999999776482582}}");
    ck_free(text);
    cr_expect_str_eq(ck_regularizer_class_name(r), "L2");
    cr_expect_eq(ck_regularizer_l2(r), (double)0.01f);
    cr_expect_eq(ck_regularizer_l1(r), 0.0);
    ck_regularizer *c = NULL;
    cr_assert_eq(ck_regularizer_copy(&c, r), CK_OK);
    cr_expect_eq(ck_regularizer_l2(c), (double)0.01f);
    ck_regularizer_free(c);
    ck_regularizer_free(r);
    cr_assert_eq(ck_regularizer_new_factors(&r, "L1L2", 0.5, 0.25), CK_OK);
    text = ck_regularizer_config(r);
    cr_expect_str_eq(text, "{\"class_name\": \"L1L2\", \"config\": {\"l1\": 0.5, \"l2\": 0.25}}");
    ck_free(text);
    /* hand value: 0.5*(1+2+3) + 0.25*(1+4+9) */
    double v[3] = {1, -2, 3}, loss;
    int64_t n = 3;
    ck_tensor *x = NULL;
    cr_assert_eq(ck_tensor_from_data(&x, CK_FLOAT64, 1, &n, v), CK_OK);
    cr_assert_eq(ck_regularizer_loss(r, x, &loss), CK_OK);
    cr_expect_eq(loss, 6.5);
    ck_tensor_free(x);
    int32_t iv[3] = {1, -2, 3};
    cr_assert_eq(ck_tensor_from_data(&x, CK_INT32, 1, &n, iv), CK_OK);
    cr_assert_eq(ck_regularizer_loss(r, x, &loss), CK_OK);
    cr_expect_eq(loss, 6.5);
    ck_tensor_free(x);
    ck_regularizer_free(r);
    /* a negative factor is allowed (TF2.x only rejects non-numbers and inf/nan) */
    cr_assert_eq(ck_regularizer_new(&r, "{\"class_name\": \"L1\", \"config\": {\"l1\": -0.5}}"), CK_OK);
    cr_expect_eq(ck_regularizer_l1(r), -0.5);
    ck_regularizer_free(r);
}

Test(regularizers, json_api)
{
    ck_regularizer *r = (ck_regularizer *)0x1;
    cr_assert_eq(ck_regularizer_from_json(json_null(), &r), CK_OK);
    cr_expect_null(r);
    json_t *n = ck_regularizer_to_json(NULL);
    cr_expect(json_is_null(n));
    json_decref(n);
    json_t *j = json_string("l1_l2");
    cr_assert_eq(ck_regularizer_from_json(j, &r), CK_OK);
    json_decref(j);
    cr_expect_eq(ck_regularizer_l1(r), (double)0.01f);
    cr_expect_eq(ck_regularizer_l2(r), (double)0.01f);
    ck_regularizer_free(r);
}

Test(regularizers, errors)
{
    static const struct {
        const char *text;
        ck_status st;
        const char *fragment;
    } cases[] = {
        {"l3", CK_VALUE_ERROR, "Unknown regularizer: 'l3'"},
        {"OrthogonalRegularizer", CK_VALUE_ERROR, "Unknown regularizer"},
        {"{\"class_name\": \"L2\", \"config\": {\"l2\": \"x\"}}", CK_VALUE_ERROR,
         "is not a valid regularization penalty number"},
        {"{\"class_name\": \"L2\", \"config\": {\"l1\": 0.1}}", CK_TYPE_ERROR,
         "unexpected keyword argument 'l1'"},
        {"{\"class_name\": \"L1L2\", \"config\": {\"l1\": [1]}}", CK_VALUE_ERROR, "l1"},
        {"{\"class_name\": \"L1L2\", \"config\": {\"l1\": 1e999}}", CK_FORMAT_ERROR, "overflow"},
        {"{\"class_name\": \"L1L2\"", CK_FORMAT_ERROR, "malformed"},
        {"7", CK_VALUE_ERROR, "Unknown regularizer: '7'"},
        {"{\"x\": 7}", CK_VALUE_ERROR, "Could not interpret regularizer identifier"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_regularizer *r = (ck_regularizer *)0x1;
        cr_expect_eq(ck_regularizer_new(&r, cases[i].text), cases[i].st, "%s: %s", cases[i].text,
                     ck_last_error());
        cr_expect(strstr(ck_last_error(), cases[i].fragment) != NULL, "%s: %s", cases[i].text,
                  ck_last_error());
        cr_expect_eq(r, (ck_regularizer *)0x1);
    }
    ck_regularizer *r = (ck_regularizer *)0x1;
    cr_expect_eq(ck_regularizer_new_factors(&r, "L1", 0.1, 0.2), CK_VALUE_ERROR);
    cr_expect_eq(ck_regularizer_new_factors(&r, "L3", 0.1, 0), CK_VALUE_ERROR);
    cr_expect_eq(ck_regularizer_new_factors(&r, "L2", 0, INFINITY), CK_VALUE_ERROR);
    cr_expect_eq(ck_regularizer_new_factors(&r, "L2", 0, NAN), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "NaN") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_regularizer_new(&r, NULL), CK_VALUE_ERROR);
    cr_expect_eq(r, (ck_regularizer *)0x1);
}

static ck_regularizer *oom_reg;
static ck_status oom_new(void *ctx) { return ck_regularizer_new(&oom_reg, (const char *)ctx); }
static ck_status oom_factors(void *ctx)
{
    (void)ctx;
    return ck_regularizer_new_factors(&oom_reg, "L1", 0.1, 0);
}
static void oom_cleanup(void *ctx)
{
    (void)ctx;
    ck_regularizer_free(oom_reg);
    oom_reg = NULL;
}

Test(regularizers, failing_allocations)
{
    cr_expect_geq(ck_test_every_allocation_fails(oom_new, oom_cleanup, "l1"), 2); /* jansson allocates too */
    cr_expect_geq(ck_test_every_allocation_fails(
                     oom_new, oom_cleanup, "{\"class_name\": \"L1L2\", \"config\": {\"l1\": 0.1}}"), 2); /* jansson allocates too */
    cr_expect_eq(ck_test_every_allocation_fails(oom_factors, oom_cleanup, NULL), 1);
}
