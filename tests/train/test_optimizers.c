/* Optimizers and learning-rate schedules against tf.keras 2.15 goldens
 * (tests/data/train/optimizers/optimizers.json, from
 * tools/gen_optimizer_goldens.py). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "ckeras.h"
#include "params/params.h"
#include "support/support.h"
#include "train/optimizers/optimizer.h"

static json_t *goldens(void)
{
    static json_t *root;
    if (!root) {
        json_error_t err;
        root = json_load_file(ck_test_data("train/optimizers/optimizers.json"), 0, &err);
        cr_assert(root != NULL, "cannot read the goldens: %s", err.text);
    }
    return root;
}

static const json_t *golden_case(const char *key)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(goldens(), "cases"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "key")), key) == 0) return c;
    cr_assert_fail("no golden case %s", key);
    return NULL;
}

static int close_to(double got, double want, double tol)
{
    return fabs(got - want) <= tol * (fabs(want) > 1 ? fabs(want) : 1);
}

/* Two variables a (3,) and b (2, 2) with the goldens' initial values, and
 * the gradients of step k. */
typedef struct vars2 {
    ck_tensor *v[2];
} vars2;

static ck_tensor *from_json_values(const json_t *arr, int rank, const int64_t *shape, ck_dtype dt)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dt, rank, shape), CK_OK);
    for (int64_t i = 0; i < t->size; i++) {
        double x = json_number_value(json_array_get(arr, (size_t)i));
        if (dt == CK_FLOAT32) ((float *)t->data)[i] = (float)x;
        else ((double *)t->data)[i] = x;
    }
    return t;
}

static const int64_t shape_a[1] = {3}, shape_b[2] = {2, 2};

static vars2 make_vars(ck_dtype dt)
{
    const json_t *init = json_object_get(goldens(), "init");
    vars2 v = {{from_json_values(json_object_get(init, "a"), 1, shape_a, dt),
                from_json_values(json_object_get(init, "b"), 2, shape_b, dt)}};
    return v;
}

static vars2 make_grads(int k, ck_dtype dt)
{
    const json_t *g = json_array_get(json_object_get(goldens(), "grads"), (size_t)k);
    vars2 v = {{from_json_values(json_object_get(g, "a"), 1, shape_a, dt),
                from_json_values(json_object_get(g, "b"), 2, shape_b, dt)}};
    return v;
}

static void free_vars(vars2 *v)
{
    ck_tensor_free(v->v[0]);
    ck_tensor_free(v->v[1]);
}

static void step(ck_optimizer *o, vars2 *v, int k, ck_dtype dt)
{
    vars2 g = make_grads(k, dt);
    cr_assert_eq(ck_optimizer_apply_gradients(o, 2, v->v, g.v), CK_OK,
                 "%s", ck_last_error());
    free_vars(&g);
}

static ck_dtype case_dtype(const json_t *c)
{
    return strcmp(json_string_value(json_object_get(c, "dtype")), "float64") == 0 ? CK_FLOAT64
                                                                                 : CK_FLOAT32;
}

static void expect_values(const char *what, const ck_tensor *t, const json_t *want, double tol)
{
    cr_assert_eq((size_t)t->size, json_array_size(want), "%s: size", what);
    for (int64_t i = 0; i < t->size; i++) {
        double g = ck_tensor_get(t, i), w = json_number_value(json_array_get(want, (size_t)i));
        cr_expect(close_to(g, w, tol), "%s[%ld]: %.9g, TF %.9g", what, (long)i, g, w);
    }
}

static ck_optimizer *new_opt(const char *text)
{
    ck_optimizer *o = NULL;
    cr_assert_eq(ck_optimizer_new(&o, text), CK_OK, "%s: %s", text, ck_last_error());
    return o;
}

static void expect_config(const ck_optimizer *o, const char *want, const char *who)
{
    char *text = NULL;
    cr_assert_eq(ck_optimizer_get_config(o, &text), CK_OK);
    cr_expect_str_eq(text, want, "%s", who);
    ck_free(text);
}

Test(optimizers, goldens_steps_slots_and_configs)
{
    size_t ci;
    const json_t *c;
    json_array_foreach(json_object_get(goldens(), "cases"), ci, c) {
        const char *key = json_string_value(json_object_get(c, "key"));
        ck_dtype dt = case_dtype(c);
        ck_optimizer *o = new_opt(json_string_value(json_object_get(c, "config_in")));
        const char *want_cfg = json_string_value(json_object_get(c, "config_out"));
        expect_config(o, want_cfg, key);
        vars2 v = make_vars(dt);
        for (int k = 0; k < 5; k++) {
            step(o, &v, k, dt);
            const json_t *s = json_array_get(json_object_get(c, "steps"), (size_t)k);
            char what[96];
            snprintf(what, sizeof what, "%s step %d a", key, k + 1);
            expect_values(what, v.v[0], json_object_get(s, "a"), 1e-6);
            snprintf(what, sizeof what, "%s step %d b", key, k + 1);
            expect_values(what, v.v[1], json_object_get(s, "b"), 1e-6);
        }
        cr_expect_eq(ck_optimizer_iterations(o), 5);
        cr_expect(close_to(ck_optimizer_learning_rate(o),
                           json_number_value(json_object_get(c, "lr_next")), 1e-7),
                  "%s: lr %.9g", key, ck_optimizer_learning_rate(o));

        /* optimizer variables: names and values in tf.keras' order */
        const json_t *tv = json_object_get(c, "variables");
        ck_tensor **w = NULL;
        int n = 0;
        cr_assert_eq(ck_optimizer_get_weights(o, &w, &n), CK_OK);
        cr_assert_eq((size_t)n, json_array_size(tv), "%s: %d weights", key, n);
        char **names = NULL;
        int nn = 0;
        const char *var_names[2] = {"a:0", "b:0"};
        cr_assert_eq(ck_optimizer_weight_names(o, 2, var_names, &names, &nn), CK_OK);
        cr_assert_eq(nn, n);
        for (int j = 0; j < n; j++) {
            const json_t *e = json_array_get(tv, (size_t)j);
            cr_expect_str_eq(names[j], json_string_value(json_object_get(e, "name")), "%s", key);
            cr_expect_eq(w[j]->dtype, j == 0 ? CK_INT64 : dt);
            cr_expect_eq((size_t)w[j]->rank, json_array_size(json_object_get(e, "shape")));
            expect_values(names[j], w[j], json_object_get(e, "value"), 1e-6);
            ck_free(names[j]);
        }
        ck_free(names);
        ck_tensors_free(w, n);

        /* get_config is unchanged by training and round-trips */
        expect_config(o, want_cfg, key);
        ck_optimizer *back = new_opt(want_cfg);
        expect_config(back, want_cfg, key);
        ck_optimizer_free(back);
        ck_optimizer_free(o);
        free_vars(&v);
    }
}

/* Setting the iteration count through set_weights moves a schedule. */
static void set_iterations(ck_optimizer *o, int64_t it)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_INT64, 0, NULL), CK_OK);
    *(int64_t *)t->data = it;
    ck_tensor *vals[1] = {t};
    cr_assert_eq(ck_optimizer_set_weights(o, 0, NULL, 1, vals), CK_OK, "%s", ck_last_error());
    ck_tensor_free(t);
}

Test(schedules, goldens_values_and_configs)
{
    size_t si;
    const json_t *s;
    json_array_foreach(json_object_get(goldens(), "schedules"), si, s) {
        const char *in = json_string_value(json_object_get(s, "config_in"));
        char text[1024];
        snprintf(text, sizeof text, "{\"class_name\": \"SGD\", \"config\": {\"learning_rate\": %s}}",
                 in);
        ck_optimizer *o = new_opt(text);
        size_t k;
        const json_t *st;
        json_array_foreach(json_object_get(s, "steps"), k, st) {
            set_iterations(o, json_integer_value(st));
            double want = json_number_value(json_array_get(json_object_get(s, "values"), k));
            double got = ck_optimizer_learning_rate(o);
            cr_expect(close_to(got, want, 2e-7), "%s at step %d: %.9g, TF %.9g", in,
                      (int)json_integer_value(st), got, want);
        }
        json_t *cfg = ck_optimizer_to_json(o);
        cr_assert(cfg != NULL);
        char *lr = ck_json_dumps_python(json_object_get(json_object_get(cfg, "config"),
                                                        "learning_rate"));
        cr_expect_str_eq(lr, json_string_value(json_object_get(s, "config_out")));
        ck_free(lr);
        json_decref(cfg);
        ck_optimizer_free(o);
    }
}

/* Runs the golden case `key`'s five steps with an optimizer made from
 * `text` and checks them against TF. */
static void expect_like_case(const char *text, const char *key, int check_config)
{
    const json_t *c = golden_case(key);
    ck_optimizer *o = new_opt(text);
    vars2 v = make_vars(CK_FLOAT32);
    for (int k = 0; k < 5; k++) {
        step(o, &v, k, CK_FLOAT32);
        const json_t *s = json_array_get(json_object_get(c, "steps"), (size_t)k);
        expect_values(text, v.v[0], json_object_get(s, "a"), 1e-6);
        expect_values(text, v.v[1], json_object_get(s, "b"), 1e-6);
    }
    if (check_config) expect_config(o, json_string_value(json_object_get(c, "config_out")), text);
    free_vars(&v);
    ck_optimizer_free(o);
}

Test(optimizers, legacy_and_keras3_configs)
{
    /* Keras 2 / TF 2.x legacy-optimizer configs */
    expect_like_case("{\"class_name\": \"SGD\", \"config\": {\"name\": \"SGD\", \"lr\": 0.1, "
                     "\"momentum\": 0.9, \"decay\": 0.0, \"nesterov\": false}}",
                     "sgd_momentum", 1);
    expect_like_case("{\"class_name\": \"SGD\", \"config\": {\"name\": \"SGD\", \"learning_rate\": "
                     "0.10000000149011612, \"decay\": 0.0, \"momentum\": 0.9, \"nesterov\": true, "
                     "\"is_legacy_optimizer\": true}}",
                     "sgd_nesterov", 1);
    /* Keras 2.2: epsilon None means K.epsilon() */
    expect_like_case("{\"class_name\": \"Adam\", \"config\": {\"lr\": 0.05, \"beta_1\": 0.9, "
                     "\"beta_2\": 0.999, \"epsilon\": null, \"decay\": 0.0, \"amsgrad\": true}}",
                     "adam_amsgrad", 1);
    /* Keras 1: the class in "name" */
    expect_like_case("{\"name\": \"Adam\", \"lr\": 0.05, \"beta_1\": 0.9, \"beta_2\": 0.999, "
                     "\"epsilon\": 1e-07, \"decay\": 0.0, \"amsgrad\": true}",
                     "adam_amsgrad", 1);
    /* Keras 3 */
    expect_like_case("{\"module\": \"keras.optimizers\", \"class_name\": \"Adam\", \"config\": "
                     "{\"name\": \"Adam\", \"learning_rate\": 0.05, \"weight_decay\": null, "
                     "\"clipnorm\": null, \"global_clipnorm\": null, \"clipvalue\": null, "
                     "\"use_ema\": false, \"ema_momentum\": 0.99, \"ema_overwrite_frequency\": "
                     "null, \"loss_scale_factor\": null, \"gradient_accumulation_steps\": null, "
                     "\"beta_1\": 0.9, \"beta_2\": 0.999, \"epsilon\": 1e-07, \"amsgrad\": true}, "
                     "\"registered_name\": null}",
                     "adam_amsgrad", 1);
    /* registered names as a .h5 training_config writes them */
    expect_like_case("{\"class_name\": \"Custom>Adam\", \"config\": {\"learning_rate\": 0.05, "
                     "\"amsgrad\": true}}", "adam_amsgrad", 1);
    /* names, any case */
    expect_like_case("\"adam\"", "adam", 1);
    expect_like_case("RMSprop", "rmsprop", 1);
    expect_like_case("rmsprop", "rmsprop", 1);
    expect_like_case("ftrl", "ftrl", 1);
    expect_like_case("nadam", "nadam", 1);
    expect_like_case("SGD", "sgd", 1);
    expect_like_case("{\"class_name\": \"sgd\", \"config\": {\"learning_rate\": 0.1}}", "sgd_lr", 1);
    expect_like_case("{\"class_name\": \"Nadam\", \"config\": {\"lr\": 0.05, \"beta_1\": 0.8, "
                     "\"epsilon\": 0.0001, \"schedule_decay\": 0.004}}", "nadam_opts", 1);
    const char *names[] = {"adamw", "Adagrad", "ADADELTA", "adamax"};
    for (int i = 0; i < 4; i++) {
        ck_optimizer *o = new_opt(names[i]);
        ck_optimizer_free(o);
    }
}

Test(optimizers, legacy_decay_is_inverse_time_decay)
{
    ck_optimizer *o = new_opt("{\"class_name\": \"SGD\", \"config\": {\"lr\": 0.1, "
                              "\"decay\": 0.5, \"momentum\": 0.0}}");
    vars2 v = make_vars(CK_FLOAT32);
    float a[3], b[4];
    memcpy(a, v.v[0]->data, sizeof a);
    memcpy(b, v.v[1]->data, sizeof b);
    for (int k = 0; k < 5; k++) {
        float lr = 0.1f / (1.0f + 0.5f * (float)k);
        cr_expect(close_to(ck_optimizer_learning_rate(o), lr, 1e-7));
        vars2 g = make_grads(k, CK_FLOAT32);
        for (int i = 0; i < 3; i++) a[i] += -((float *)g.v[0]->data)[i] * lr;
        for (int i = 0; i < 4; i++) b[i] += -((float *)g.v[1]->data)[i] * lr;
        free_vars(&g);
        step(o, &v, k, CK_FLOAT32);
    }
    for (int i = 0; i < 3; i++) cr_expect(close_to(((float *)v.v[0]->data)[i], a[i], 1e-6));
    for (int i = 0; i < 4; i++) cr_expect(close_to(((float *)v.v[1]->data)[i], b[i], 1e-6));
    char *text = NULL;
    cr_assert_eq(ck_optimizer_get_config(o, &text), CK_OK);
    cr_expect(strstr(text, "\"learning_rate\": {\"module\": \"keras.optimizers.schedules\", "
                           "\"class_name\": \"InverseTimeDecay\", \"config\": "
                           "{\"initial_learning_rate\": 0.10000000149011612, \"decay_steps\": 1, "
                           "\"decay_rate\": 0.5, \"staircase\": false, \"name\": null}") != NULL,
              "%s", text);
    cr_expect(strstr(text, "\"decay\"") == NULL);
    ck_free(text);
    free_vars(&v);
    ck_optimizer_free(o);
}

Test(optimizers, set_learning_rate_and_accessors)
{
    ck_optimizer *o = new_opt(json_string_value(json_object_get(golden_case("sgd_exp_decay"),
                                                                "config_in")));
    cr_expect_str_eq(ck_optimizer_name(o), "SGD");
    cr_expect(close_to(ck_optimizer_learning_rate(o), 0.1, 1e-7));
    cr_expect_eq(ck_optimizer_set_learning_rate(o, -1.0), CK_VALUE_ERROR);
    cr_expect(close_to(ck_optimizer_learning_rate(o), 0.1, 1e-7)); /* unchanged */
    cr_assert_eq(ck_optimizer_set_learning_rate(o, 0.25), CK_OK);
    cr_expect_eq(ck_optimizer_learning_rate(o), 0.25);
    char *text = NULL;
    cr_assert_eq(ck_optimizer_get_config(o, &text), CK_OK);
    cr_expect(strstr(text, "\"learning_rate\": 0.25,") != NULL, "%s", text);
    ck_free(text);
    ck_optimizer_free(o);
    ck_optimizer_free(NULL);

    o = new_opt("{\"class_name\": \"Adam\", \"config\": {\"learning_rate\": 0.01, \"name\": "
                "\"opt\"}}");
    cr_expect_str_eq(ck_optimizer_name(o), "Adam");
    const char *vn[2] = {"dense/kernel:0", "dense/bias"};
    char **names = NULL;
    int n = 0;
    cr_assert_eq(ck_optimizer_weight_names(o, 2, vn, &names, &n), CK_OK);
    const char *want[] = {"iteration:0", "opt/m/dense/kernel:0", "opt/v/dense/kernel:0",
                          "opt/m/dense/bias:0", "opt/v/dense/bias:0"};
    cr_assert_eq(n, 5);
    for (int i = 0; i < n; i++) {
        cr_expect_str_eq(names[i], want[i]);
        ck_free(names[i]);
    }
    ck_free(names);
    /* before the first step: only iterations */
    ck_tensor **w = NULL;
    cr_assert_eq(ck_optimizer_get_weights(o, &w, &n), CK_OK);
    cr_expect_eq(n, 1);
    cr_expect_eq(w[0]->dtype, CK_INT64);
    cr_expect_eq(*(int64_t *)w[0]->data, 0);
    ck_tensors_free(w, n);
    ck_optimizer_free(o);
}

/* Two steps, then get_weights into a fresh optimizer that does the last
 * three: the same variables, bit for bit, as five steps in one go. */
Test(optimizers, get_set_weights_resume)
{
    size_t ci;
    const json_t *c;
    json_array_foreach(json_object_get(goldens(), "cases"), ci, c) {
        const char *key = json_string_value(json_object_get(c, "key"));
        const char *cfg = json_string_value(json_object_get(c, "config_in"));
        ck_dtype dt = case_dtype(c);
        ck_optimizer *full = new_opt(cfg), *first = new_opt(cfg), *second = new_opt(cfg);
        vars2 x = make_vars(dt), y = make_vars(dt);
        for (int k = 0; k < 5; k++) step(full, &x, k, dt);
        for (int k = 0; k < 2; k++) step(first, &y, k, dt);
        ck_tensor **w = NULL;
        int n = 0;
        cr_assert_eq(ck_optimizer_get_weights(first, &w, &n), CK_OK);
        cr_assert_eq(ck_optimizer_set_weights(second, 2, y.v, n, w),
                     CK_OK, "%s: %s", key, ck_last_error());
        cr_expect_eq(ck_optimizer_iterations(second), 2);
        ck_tensors_free(w, n);
        for (int k = 2; k < 5; k++) step(second, &y, k, dt);
        for (int i = 0; i < 2; i++)
            cr_expect_eq(ck_test_max_abs_diff(x.v[i], y.v[i]), 0.0, "%s: variable %d", key, i);
        free_vars(&x);
        free_vars(&y);
        ck_optimizer_free(full);
        ck_optimizer_free(first);
        ck_optimizer_free(second);
    }
}

Test(optimizers, no_allocation_after_first_step)
{
    size_t ci;
    const json_t *c;
    json_array_foreach(json_object_get(goldens(), "cases"), ci, c) {
        ck_dtype dt = case_dtype(c);
        ck_optimizer *o = new_opt(json_string_value(json_object_get(c, "config_in")));
        vars2 v = make_vars(dt);
        vars2 g[4];
        for (int k = 0; k < 4; k++) g[k] = make_grads(k, dt);
        cr_assert_eq(ck_optimizer_apply_gradients(o, 2, v.v, g[0].v),
                     CK_OK);
        ck_test_fail_after(0);
        for (int k = 1; k < 4; k++)
            cr_expect_eq(ck_optimizer_apply_gradients(o, 2, v.v, g[k].v),
                         CK_OK, "%s", json_string_value(json_object_get(c, "key")));
        long allocs = ck_test_alloc_count();
        (void)ck_optimizer_learning_rate(o);
        ck_test_alloc_reset();
        cr_expect_eq(allocs, 0);
        for (int k = 0; k < 4; k++) free_vars(&g[k]);
        free_vars(&v);
        ck_optimizer_free(o);
    }
}

static void expect_new_fails(const char *text, ck_status want)
{
    ck_optimizer *o = NULL;
    cr_expect_eq(ck_optimizer_new(&o, text), want, "%s: %s", text, ck_last_error());
    cr_expect(o == NULL);
    cr_expect_str_neq(ck_last_error(), "");
    ck_optimizer_free(o);
}

Test(optimizers, config_errors)
{
    expect_new_fails("foo", CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Unknown optimizer: 'foo'") != NULL);
    expect_new_fails("{\"class_name\": \"Lion\", \"config\": {}}", CK_VALUE_ERROR);
    expect_new_fails("{\"class_name\": \"Adam\", \"config\": {\"use_ema\": true}}",
                     CK_NOT_IMPLEMENTED);
    expect_new_fails("{\"class_name\": \"Adam\", \"config\": {\"clipnorm\": 1, "
                     "\"global_clipnorm\": 1}}", CK_VALUE_ERROR);
    expect_new_fails("{\"class_name\": \"SGD\", \"config\": {\"momentum\": 1.5}}", CK_VALUE_ERROR);
    expect_new_fails("{\"class_name\": \"SGD\", \"config\": {\"betas\": 1}}", CK_TYPE_ERROR);
    expect_new_fails("{\"class_name\": \"AdamW\", \"config\": {\"weight_decay\": null}}",
                     CK_VALUE_ERROR);
    expect_new_fails("{\"class_name\": \"Ftrl\", \"config\": {\"learning_rate_power\": 0.5}}",
                     CK_VALUE_ERROR);
    expect_new_fails("{\"class_name\": \"Ftrl\", \"config\": {\"l1_regularization_strength\": "
                     "-1}}", CK_VALUE_ERROR);
    expect_new_fails("{\"class_name\": \"Adam\", \"config\": {\"beta_1\": \"x\"}}", CK_TYPE_ERROR);
    expect_new_fails("{\"class_name\": \"Adam\", \"config\": {\"loss_scale_factor\": 2.0}}",
                     CK_NOT_IMPLEMENTED);
    expect_new_fails("{\"class_name\": \"SGD\", \"config\": {\"decay\": -1}}", CK_VALUE_ERROR);
    expect_new_fails("{\"class_name\": \"Adam\", \"config\": {", CK_FORMAT_ERROR);
    expect_new_fails("[1, 2]", CK_VALUE_ERROR);
    expect_new_fails("{\"class_name\": \"SGD\", \"config\": {\"learning_rate\": {\"class_name\": "
                     "\"Nope\", \"config\": {}}}}", CK_VALUE_ERROR);
    expect_new_fails("{\"class_name\": \"SGD\", \"config\": {\"learning_rate\": {\"class_name\": "
                     "\"ExponentialDecay\", \"config\": {\"initial_learning_rate\": 0.1}}}}",
                     CK_TYPE_ERROR);
    expect_new_fails("{\"class_name\": \"SGD\", \"config\": {\"learning_rate\": {\"class_name\": "
                     "\"PiecewiseConstantDecay\", \"config\": {\"boundaries\": [1, 2], "
                     "\"values\": [0.1, 0.2]}}}}", CK_VALUE_ERROR);
    expect_new_fails("{\"class_name\": \"SGD\", \"config\": {\"learning_rate\": {\"class_name\": "
                     "\"CosineDecay\", \"config\": {\"initial_learning_rate\": 0.1, "
                     "\"decay_steps\": 5, \"bogus\": 1}}}}", CK_TYPE_ERROR);
}

static int same_weights(ck_tensor **a, int na, ck_tensor **b, int nb)
{
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (ck_test_max_abs_diff(a[i], b[i]) != 0) return 0;
    return 1;
}

Test(optimizers, mismatched_variables_change_nothing)
{
    ck_optimizer *o = new_opt("{\"class_name\": \"Adam\", \"config\": {\"learning_rate\": 0.1}}");
    vars2 v = make_vars(CK_FLOAT32), g = make_grads(0, CK_FLOAT32);
    cr_assert_eq(ck_optimizer_apply_gradients(o, 2, v.v, g.v), CK_OK);
    ck_tensor *a_before = NULL, *b_before = NULL, **w0 = NULL, **w1 = NULL;
    int n0 = 0, n1 = 0;
    ck_tensor_copy(&a_before, v.v[0]);
    ck_tensor_copy(&b_before, v.v[1]);
    cr_assert_eq(ck_optimizer_get_weights(o, &w0, &n0), CK_OK);

    /* one variable instead of two */
    cr_expect_eq(ck_optimizer_apply_gradients(o, 1, v.v, g.v),
                 CK_VALUE_ERROR);
    /* a gradient of another shape */
    vars2 bad = {{g.v[1], g.v[0]}};
    cr_expect_eq(ck_optimizer_apply_gradients(o, 2, v.v, bad.v),
                 CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "(2, 2)") != NULL, "%s", ck_last_error());
    /* variables of other shapes than the slots */
    vars2 swapped = {{v.v[1], v.v[0]}};
    cr_expect_eq(ck_optimizer_apply_gradients(o, 2, swapped.v, bad.v),
                 CK_VALUE_ERROR);
    /* a float64 gradient for a float32 variable */
    vars2 g64 = make_grads(0, CK_FLOAT64);
    cr_expect_eq(ck_optimizer_apply_gradients(o, 2, v.v, g64.v),
                 CK_TYPE_ERROR);
    cr_expect_eq(ck_optimizer_apply_gradients(o, 0, v.v, g.v),
                 CK_VALUE_ERROR);

    /* set_weights: wrong count, wrong shape */
    cr_expect_eq(ck_optimizer_set_weights(o, 2, v.v, n0 - 1, w0),
                 CK_VALUE_ERROR);
    ck_tensor *tmp = w0[1];
    w0[1] = w0[3];
    w0[3] = tmp;
    cr_expect_eq(ck_optimizer_set_weights(o, 2, v.v, n0, w0),
                 CK_VALUE_ERROR);
    w0[3] = w0[1];
    w0[1] = tmp;
    cr_expect_eq(ck_optimizer_set_weights(o, 1, v.v, 3, w0),
                 CK_VALUE_ERROR);

    cr_expect_eq(ck_test_max_abs_diff(v.v[0], a_before), 0.0);
    cr_expect_eq(ck_test_max_abs_diff(v.v[1], b_before), 0.0);
    cr_expect_eq(ck_optimizer_iterations(o), 1);
    cr_assert_eq(ck_optimizer_get_weights(o, &w1, &n1), CK_OK);
    cr_expect(same_weights(w0, n0, w1, n1));

    /* a fresh optimizer refuses weights that do not fit and stays unbuilt */
    ck_optimizer *fresh = new_opt("adam");
    cr_expect_eq(ck_optimizer_set_weights(fresh, 2, swapped.v, n0, w0),
                 CK_VALUE_ERROR);
    ck_tensor **w2 = NULL;
    int n2 = 0;
    cr_assert_eq(ck_optimizer_get_weights(fresh, &w2, &n2), CK_OK);
    cr_expect_eq(n2, 1);
    ck_tensors_free(w2, n2);
    ck_optimizer_free(fresh);

    ck_tensors_free(w0, n0);
    ck_tensors_free(w1, n1);
    ck_tensor_free(a_before);
    ck_tensor_free(b_before);
    free_vars(&g64);
    free_vars(&g);
    free_vars(&v);
    ck_optimizer_free(o);
}

typedef struct oom_ctx {
    const char *text;
    ck_optimizer *o;
    vars2 v, g;
} oom_ctx;

static ck_status oom_run(void *p)
{
    oom_ctx *c = p;
    ck_optimizer *o = NULL;
    CK_TRY(ck_optimizer_new(&o, c->text));
    ck_status st = ck_optimizer_apply_gradients(o, 2, c->v.v, c->g.v);
    ck_tensor **w = NULL;
    int n = 0;
    if (st == CK_OK) st = ck_optimizer_get_weights(o, &w, &n);
    if (st == CK_OK) {
        ck_optimizer *o2 = NULL;
        st = ck_optimizer_new(&o2, c->text);
        if (st == CK_OK) st = ck_optimizer_set_weights(o2, 2, c->v.v, n, w);
        ck_optimizer_free(o2);
        ck_tensors_free(w, n);
    }
    char *cfg = NULL;
    if (st == CK_OK) st = ck_optimizer_get_config(o, &cfg);
    ck_free(cfg);
    if (st == CK_OK) {
        char **names = NULL;
        const char *vn[2] = {"a:0", "b:0"};
        st = ck_optimizer_weight_names(o, 2, vn, &names, &n);
        if (st == CK_OK) {
            for (int i = 0; i < n; i++) ck_free(names[i]);
            ck_free(names);
        }
    }
    if (st != CK_OK) ck_optimizer_free(o);
    else c->o = o;
    return st;
}

static void oom_cleanup(void *p)
{
    oom_ctx *c = p;
    ck_optimizer_free(c->o);
    c->o = NULL;
}

Test(optimizers, every_allocation_failure_is_clean)
{
    const char *texts[] = {
        json_string_value(json_object_get(golden_case("rmsprop_centered_momentum"), "config_in")),
        json_string_value(json_object_get(golden_case("sched_piecewise"), "config_in")),
        json_string_value(json_object_get(golden_case("adam_named"), "config_in")),
    };
    for (int i = 0; i < 3; i++) {
        oom_ctx c = {.text = texts[i], .v = make_vars(CK_FLOAT32), .g = make_grads(0, CK_FLOAT32)};
        long points = ck_test_every_allocation_fails(oom_run, oom_cleanup, &c);
        cr_expect(points > 5);
        free_vars(&c.v);
        free_vars(&c.g);
    }
}

/* The names model.save('x.h5') writes under optimizer_weights, for the
 * optimizer read back from the same file's training_config. */
Test(optimizers, h5_weight_names)
{
    size_t i;
    const json_t *h;
    json_array_foreach(json_object_get(goldens(), "h5"), i, h) {
        ck_optimizer *o = new_opt(json_string_value(json_object_get(h, "config")));
        const json_t *vn = json_object_get(h, "var_names");
        const char *var_names[8];
        int nv = (int)json_array_size(vn);
        cr_assert(nv <= 8);
        for (int k = 0; k < nv; k++) var_names[k] = json_string_value(json_array_get(vn, (size_t)k));
        char **names = NULL;
        int n = 0;
        cr_assert_eq(ck_optimizer_weight_names(o, nv, var_names, &names, &n), CK_OK);
        const json_t *want = json_object_get(h, "weight_names");
        cr_assert_eq((size_t)n, json_array_size(want));
        for (int k = 0; k < n; k++) {
            cr_expect_str_eq(names[k], json_string_value(json_array_get(want, (size_t)k)));
            ck_free(names[k]);
        }
        ck_free(names);
        ck_optimizer_free(o);
    }
}
