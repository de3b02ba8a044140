#include <stdlib.h>

#include "params/fixture.h"
#include "params/params.h"

typedef struct stats {
    double mean, std, min, max;
} stats;

static stats stats_of(const ck_tensor *t)
{
    stats s = {0, 0, INFINITY, -INFINITY};
    for (int64_t i = 0; i < t->size; i++) {
        double v = ck_tensor_get(t, i);
        s.mean += v;
        if (v < s.min) s.min = v;
        if (v > s.max) s.max = v;
    }
    s.mean /= (double)t->size;
    for (int64_t i = 0; i < t->size; i++) {
        double d = ck_tensor_get(t, i) - s.mean;
        s.std += d * d;
    }
    s.std = sqrt(s.std / (double)t->size);
    return s;
}

static ck_tensor *filled(const char *ident, ck_dtype dtype, int rank, const int64_t *shape)
{
    ck_initializer *in = NULL;
    cr_assert_eq(ck_initializer_new(&in, ident), CK_OK, "%s: %s", ident, ck_last_error());
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dtype, rank, shape), CK_OK);
    cr_assert_eq(ck_initializer_fill(in, t), CK_OK, "%s: %s", ident, ck_last_error());
    ck_initializer_free(in);
    return t;
}

static const int64_t FC[2] = {200, 100};       /* fan_in 200, fan_out 100 */
static const int64_t CONV[4] = {25, 25, 20, 20}; /* fan_in = fan_out = 12500 */

/* keras-cases E1 with std checked to 3% relative (N >= 20000) as well. */
static void check_std(const char *ident, double fan_in, double fan_out, double target_var_num,
                      int mode)
{
    for (int shp = 0; shp < 2; shp++) {
        ck_tensor *t = shp == 0 ? filled(ident, CK_FLOAT32, 2, FC) : filled(ident, CK_FLOAT32, 4, CONV);
        double fi = shp == 0 ? fan_in : 12500, fo = shp == 0 ? fan_out : 12500;
        double fan = mode == 0 ? fi : mode == 1 ? fo : (fi + fo) / 2;
        double target = sqrt(target_var_num / fan);
        stats s = stats_of(t);
        cr_expect(fabs(s.mean) < 3e-2 && fabs(s.mean) < 0.05 * target, "%s mean %g", ident, s.mean);
        cr_expect(fabs(s.std - target) < 0.03 * target, "%s shape %d std %g target %g", ident, shp,
                  s.std, target);
        ck_tensor_free(t);
    }
}

Test(initializers, variance_scaling_family_std)
{
    ck_set_random_seed(1);
    check_std("lecun_uniform", 200, 100, 1, 0);
    check_std("glorot_uniform", 200, 100, 1, 2); /* sqrt(2/(fan_in+fan_out)) */
    check_std("he_uniform", 200, 100, 2, 0);
    check_std("lecun_normal", 200, 100, 1, 0);
    check_std("glorot_normal", 200, 100, 1, 2);
    check_std("he_normal", 200, 100, 2, 0);
    check_std("{\"class_name\": \"VarianceScaling\", \"config\": {\"scale\": 3.0, \"mode\": "
              "\"fan_out\", \"distribution\": \"untruncated_normal\", \"seed\": null}}",
              200, 100, 3, 1);
    check_std("{\"class_name\": \"VarianceScaling\", \"config\": {\"scale\": 0.5, \"mode\": "
              "\"fan_avg\", \"distribution\": \"normal\", \"seed\": 4}}", 200, 100, 0.5, 2);
}

Test(initializers, uniform_bounds_and_truncation)
{
    /* glorot_uniform: limit sqrt(6/(fan_in+fan_out)) */
    ck_tensor *t = filled("glorot_uniform", CK_FLOAT64, 2, FC);
    stats s = stats_of(t);
    double lim = sqrt(6.0 / 300);
    cr_expect(s.max <= lim && s.max > 0.99 * lim && s.min >= -lim && s.min < -0.99 * lim);
    ck_tensor_free(t);
    /* he_normal: truncated at 2 stddev of the corrected parameter */
    t = filled("he_normal", CK_FLOAT64, 2, FC);
    s = stats_of(t);
    double cut = 2 * sqrt(2.0 / 200) / 0.87962566103423978;
    cr_expect(s.max <= cut && s.max > 0.97 * cut && s.min >= -cut && s.min < -0.97 * cut,
              "he_normal range [%g, %g], cut %g", s.min, s.max, cut);
    ck_tensor_free(t);
    /* E1 rows */
    t = filled("{\"class_name\": \"RandomUniform\", \"config\": {\"minval\": -1, \"maxval\": 1, "
               "\"seed\": null}}", CK_FLOAT32, 4, CONV);
    s = stats_of(t);
    cr_expect(fabs(s.mean) < 3e-2 && s.max <= 1 && s.max > 1 - 3e-2 && s.min >= -1 &&
              s.min < -1 + 3e-2);
    ck_tensor_free(t);
    t = filled("{\"class_name\": \"RandomNormal\", \"config\": {\"mean\": 0.0, \"stddev\": 1.0, "
               "\"seed\": null}}", CK_FLOAT32, 2, FC);
    s = stats_of(t);
    cr_expect(fabs(s.mean) < 3e-2 && fabs(s.std - 1) < 3e-2, "%g %g", s.mean, s.std);
    ck_tensor_free(t);
    /* TruncatedNormal: no std correction, cut at mean +- 2 stddev */
    t = filled("{\"class_name\": \"TruncatedNormal\", \"config\": {\"mean\": 0.0, \"stddev\": 1.0, "
               "\"seed\": null}}", CK_FLOAT64, 4, CONV);
    s = stats_of(t);
    cr_expect(fabs(s.mean) < 3e-2 && s.max <= 2 && s.max > 2 - 3e-2 && s.min >= -2 &&
              s.min < -2 + 3e-2);
    cr_expect(fabs(s.std - 0.87962566103423978) < 1e-2, "truncated std %g", s.std);
    ck_tensor_free(t);
    t = filled("{\"class_name\": \"TruncatedNormal\", \"config\": {\"mean\": 3.0, \"stddev\": 0.5, "
               "\"seed\": 9}}", CK_FLOAT64, 2, FC);
    s = stats_of(t);
    cr_expect(fabs(s.mean - 3) < 1e-2 && s.max <= 4 && s.min >= 2);
    ck_tensor_free(t);
    /* default RandomUniform range */
    t = filled("random_uniform", CK_FLOAT32, 2, FC);
    s = stats_of(t);
    cr_expect(s.max <= 0.05f && s.min >= -0.05f && s.max > 0.049);
    ck_tensor_free(t);
}

Test(initializers, constants_zeros_ones)
{
    ck_tensor *t = filled("{\"class_name\": \"Constant\", \"config\": {\"value\": 2}}", CK_FLOAT32, 2, FC);
    stats s = stats_of(t);
    cr_expect(s.mean == 2 && s.max == 2 && s.min == 2);
    ck_tensor_free(t);
    t = filled("zeros", CK_INT64, 2, FC);
    s = stats_of(t);
    cr_expect(s.max == 0 && s.min == 0);
    ck_tensor_free(t);
    t = filled("ones", CK_INT32, 4, CONV);
    s = stats_of(t);
    cr_expect(s.max == 1 && s.min == 1);
    ck_tensor_free(t);
    int64_t two = 2, three = 3;
    t = filled("{\"class_name\": \"Constant\", \"config\": {\"value\": [1, 2.5]}}", CK_FLOAT64, 1, &two);
    cr_expect(((double *)t->data)[0] == 1 && ((double *)t->data)[1] == 2.5);
    ck_tensor_free(t);
    t = filled("{\"class_name\": \"Constant\", \"config\": {\"value\": [[7]]}}", CK_FLOAT64, 1, &three);
    cr_expect(((double *)t->data)[2] == 7);
    ck_tensor_free(t);
    ck_initializer *in = NULL;
    cr_assert_eq(ck_initializer_new(&in, "{\"class_name\": \"Constant\", \"config\": {\"value\": [1, 2]}}"), CK_OK);
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT64, 1, &three), CK_OK);
    cr_expect_eq(ck_initializer_fill(in, t), CK_VALUE_ERROR);
    cr_expect_eq(((double *)t->data)[0], 0.0, "untouched on error");
    ck_tensor_free(t);
    ck_initializer_free(in);
}

Test(initializers, integer_random_uniform)
{
    int64_t n = 5000;
    ck_tensor *t = filled("{\"class_name\": \"RandomUniform\", \"config\": {\"minval\": 0, "
                          "\"maxval\": 10, \"seed\": 3}}", CK_INT32, 1, &n);
    int seen[10] = {0};
    for (int64_t i = 0; i < n; i++) {
        int32_t v = ((int32_t *)t->data)[i];
        cr_assert(v >= 0 && v < 10, "%d", v);
        seen[v]++;
    }
    for (int k = 0; k < 10; k++) cr_expect(seen[k] > 400 && seen[k] < 600, "%d: %d", k, seen[k]);
    ck_tensor_free(t);
    ck_initializer *in = NULL;
    cr_assert_eq(ck_initializer_new(&in, "random_uniform"), CK_OK); /* (-0.05, 0.05) -> (0, 0) */
    cr_assert_eq(ck_tensor_new(&t, CK_INT64, 1, &n), CK_OK);
    cr_expect_eq(ck_initializer_fill(in, t), CK_VALUE_ERROR);
    ck_tensor_free(t);
    ck_initializer_free(in);
}

static void check_orthonormal(const ck_tensor *t, int64_t rows, int64_t cols, double gain)
{
    /* rows >= cols: Q^T Q = gain^2 I; else Q Q^T = gain^2 I. */
    int64_t n = rows >= cols ? cols : rows, len = rows >= cols ? rows : cols;
    double worst = 0;
    for (int64_t a = 0; a < n; a++)
        for (int64_t b = 0; b < n; b++) {
            double s = 0;
            for (int64_t k = 0; k < len; k++) {
                double x = rows >= cols ? ck_tensor_get(t, k * cols + a) : ck_tensor_get(t, a * cols + k);
                double y = rows >= cols ? ck_tensor_get(t, k * cols + b) : ck_tensor_get(t, b * cols + k);
                s += x * y;
            }
            double e = fabs(s - (a == b ? gain * gain : 0));
            if (e > worst) worst = e;
        }
    cr_expect(worst < 1e-10 * (1 + gain * gain) * len, "orthogonality error %g for (%lld, %lld)",
              worst, (long long)rows, (long long)cols);
}

Test(initializers, orthogonal)
{
    int64_t s1[2] = {200, 100}, s2[2] = {10, 30}, s3[3] = {4, 5, 6}, s4[2] = {7, 7};
    ck_tensor *t = filled("orthogonal", CK_FLOAT64, 2, s1);
    check_orthonormal(t, 200, 100, 1);
    cr_expect(fabs(stats_of(t).mean) < 3e-2);
    ck_tensor_free(t);
    t = filled("{\"class_name\": \"Orthogonal\", \"config\": {\"gain\": 2.0, \"seed\": 1}}", CK_FLOAT64, 2, s2);
    check_orthonormal(t, 10, 30, 2);
    ck_tensor_free(t);
    t = filled("orthogonal", CK_FLOAT64, 3, s3);
    check_orthonormal(t, 20, 6, 1);
    ck_tensor_free(t);
    t = filled("orthogonal", CK_FLOAT64, 2, s4);
    check_orthonormal(t, 7, 7, 1);
    ck_tensor_free(t);
    t = filled("orthogonal", CK_FLOAT32, 4, CONV);
    cr_expect(fabs(stats_of(t).mean) < 3e-2);
    ck_tensor_free(t);
    /* The sign fix makes the distribution Haar: diagonal entries of a square
     * Q are symmetric around 0, so their mean over many draws is ~0. */
    double diag = 0;
    for (int k = 0; k < 200; k++) {
        t = filled("orthogonal", CK_FLOAT64, 2, s4);
        for (int i = 0; i < 7; i++) diag += ck_tensor_get(t, i * 7 + i);
        ck_tensor_free(t);
    }
    cr_expect(fabs(diag / 1400) < 0.05, "mean diagonal %g", diag / 1400);
}

Test(initializers, identity)
{
    int64_t shapes[3][2] = {{100, 100}, {10, 20}, {30, 80}};
    for (int k = 0; k < 3; k++) {
        ck_tensor *t = filled("identity", CK_FLOAT32, 2, shapes[k]);
        stats s = stats_of(t);
        double r = (double)shapes[k][0], c = (double)shapes[k][1];
        cr_expect(fabs(s.mean - fmin(r, c) / (r * c)) < 1e-7 && s.max == 1 && s.min == 0);
        for (int64_t i = 0; i < shapes[k][0]; i++)
            for (int64_t j = 0; j < shapes[k][1]; j++)
                cr_assert_eq(ck_tensor_get(t, i * shapes[k][1] + j), i == j ? 1.0 : 0.0);
        ck_tensor_free(t);
    }
    ck_tensor *t = filled("{\"class_name\": \"Identity\", \"config\": {\"gain\": 0.5}}", CK_FLOAT64, 2, shapes[1]);
    cr_expect_eq(ck_tensor_get(t, 21), 0.5);
    ck_tensor_free(t);
}

Test(initializers, shape_errors)
{
    ck_initializer *in = NULL;
    ck_tensor *t = NULL;
    int64_t s4[4] = {1, 2, 3, 4}, s1 = 3;
    cr_assert_eq(ck_initializer_new(&in, "identity"), CK_OK);
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, 4, s4), CK_OK);
    cr_expect_eq(ck_initializer_fill(in, t), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "2D") != NULL, "%s", ck_last_error());
    ck_tensor_free(t);
    ck_initializer_free(in);
    cr_assert_eq(ck_initializer_new(&in, "orthogonal"), CK_OK);
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, 1, &s1), CK_OK);
    cr_expect_eq(ck_initializer_fill(in, t), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "at least two-dimensional") != NULL, "%s", ck_last_error());
    ck_tensor_free(t);
    ck_initializer_free(in);
    cr_assert_eq(ck_initializer_new(&in, "glorot_uniform"), CK_OK);
    cr_assert_eq(ck_tensor_new(&t, CK_INT32, 1, &s1), CK_OK);
    cr_expect_eq(ck_initializer_fill(in, t), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Expected floating point type, got int32") != NULL, "%s",
              ck_last_error());
    ck_tensor_free(t);
    ck_initializer_free(in);
}

static int same_values(const ck_tensor *a, const ck_tensor *b)
{
    return a->size == b->size && memcmp(a->data, b->data, (size_t)a->size * ck_dtype_size(a->dtype)) == 0;
}

Test(initializers, seeds_and_determinism)
{
    static const char *names[] = {"GlorotUniform", "GlorotNormal", "HeNormal", "RandomNormal",
                                  "RandomUniform", "TruncatedNormal", "Orthogonal",
                                  "VarianceScaling"};
    int64_t shape[2] = {30, 20};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char seeded[160], other[160];
        snprintf(seeded, sizeof seeded, "{\"class_name\": \"%s\", \"config\": {\"seed\": 1337}}", names[k]);
        snprintf(other, sizeof other, "{\"class_name\": \"%s\", \"config\": {\"seed\": 1338}}", names[k]);
        ck_initializer *in = NULL;
        cr_assert_eq(ck_initializer_new(&in, seeded), CK_OK, "%s", ck_last_error());
        ck_tensor *a = NULL, *b = NULL;
        cr_assert_eq(ck_tensor_new(&a, CK_FLOAT32, 2, shape), CK_OK);
        cr_assert_eq(ck_tensor_new(&b, CK_FLOAT32, 2, shape), CK_OK);
        /* stateless: the same seeded instance repeats */
        cr_assert_eq(ck_initializer_fill(in, a), CK_OK);
        cr_assert_eq(ck_initializer_fill(in, b), CK_OK);
        cr_expect(same_values(a, b), "%s seeded twice", names[k]);
        ck_initializer_free(in);
        /* a different instance with the same seed gives the same values */
        cr_assert_eq(ck_initializer_new(&in, seeded), CK_OK);
        cr_assert_eq(ck_initializer_fill(in, b), CK_OK);
        cr_expect(same_values(a, b));
        ck_initializer_free(in);
        /* another seed differs */
        cr_assert_eq(ck_initializer_new(&in, other), CK_OK);
        cr_assert_eq(ck_initializer_fill(in, b), CK_OK);
        cr_expect(!same_values(a, b), "%s seeds 1337/1338 equal", names[k]);
        ck_initializer_free(in);
        /* unseeded: successive calls differ; the global seed reproduces them */
        char unseeded[160];
        snprintf(unseeded, sizeof unseeded, "{\"class_name\": \"%s\", \"config\": {\"seed\": null}}", names[k]);
        cr_assert_eq(ck_initializer_new(&in, unseeded), CK_OK);
        ck_set_random_seed(42);
        cr_assert_eq(ck_initializer_fill(in, a), CK_OK);
        cr_assert_eq(ck_initializer_fill(in, b), CK_OK);
        cr_expect(!same_values(a, b), "%s unseeded twice", names[k]);
        ck_set_random_seed(42);
        cr_assert_eq(ck_initializer_fill(in, b), CK_OK);
        cr_expect(same_values(a, b), "%s after ck_set_random_seed", names[k]);
        ck_initializer_free(in);
        ck_tensor_free(a);
        ck_tensor_free(b);
    }
}

Test(initializers, fans)
{
    double fi, fo;
    ck_compute_fans(0, NULL, &fi, &fo);
    cr_expect(fi == 1 && fo == 1);
    int64_t s1 = 7, s2[2] = {3, 5}, s4[4] = {3, 3, 4, 8};
    ck_compute_fans(1, &s1, &fi, &fo);
    cr_expect(fi == 7 && fo == 7);
    ck_compute_fans(2, s2, &fi, &fo);
    cr_expect(fi == 3 && fo == 5);
    ck_compute_fans(4, s4, &fi, &fo);
    cr_expect(fi == 36 && fo == 72);
}

Test(initializers, config_round_trips)
{
    json_t *root = fx_load_data("params/initializers.json");
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(root, "configs"), i, c) {
        const char *ident = json_string_value(json_object_get(c, "identifier"));
        const char *expected = json_string_value(json_object_get(c, "config_text"));
        ck_initializer *in = NULL, *back = NULL, *copy = NULL;
        cr_assert_eq(ck_initializer_new(&in, ident), CK_OK, "%s: %s", ident, ck_last_error());
        char *text = ck_initializer_config(in);
        cr_assert(text != NULL);
        cr_expect_str_eq(text, expected, "from %s", ident);
        cr_assert_eq(ck_initializer_from_config(&back, text), CK_OK, "%s", ck_last_error());
        char *text2 = ck_initializer_config(back);
        cr_expect_str_eq(text2, expected);
        cr_assert_eq(ck_initializer_copy(&copy, back), CK_OK);
        char *text3 = ck_initializer_config(copy);
        cr_expect_str_eq(text3, expected);
        json_t *j = json_loads(expected, 0, NULL);
        const char *cls = json_string_value(json_object_get(j, "class_name"));
        cr_expect_str_eq(ck_initializer_class_name(copy), cls);
        json_decref(j);
        ck_free(text);
        ck_free(text2);
        ck_free(text3);
        ck_initializer_free(in);
        ck_initializer_free(back);
        ck_initializer_free(copy);
    }
    json_decref(root);
}

Test(initializers, json_api)
{
    ck_initializer *in = (ck_initializer *)0x1;
    cr_assert_eq(ck_initializer_from_json(json_null(), &in), CK_OK);
    cr_expect_null(in);
    json_t *n = ck_initializer_to_json(NULL);
    cr_expect(json_is_null(n));
    json_decref(n);
    json_t *j = json_loads("{\"module\": \"keras.initializers\", \"class_name\": \"HeUniform\", "
                           "\"config\": {\"seed\": 5}, \"registered_name\": null}", 0, NULL);
    cr_assert_eq(ck_initializer_from_json(j, &in), CK_OK);
    json_decref(j);
    j = ck_initializer_to_json(in);
    cr_expect_str_eq(json_string_value(json_object_get(j, "class_name")), "HeUniform");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "config"), "seed")), 5);
    cr_expect_null(json_object_get(j, "module"), "legacy form");
    json_decref(j);
    ck_initializer_free(in);
    ck_initializer_free(NULL);
}

Test(initializers, errors)
{
    static const struct {
        const char *text;
        ck_status st;
        const char *fragment;
    } cases[] = {
        {"foo", CK_VALUE_ERROR, "Unknown initializer: 'foo'"},
        {"", CK_VALUE_ERROR, "Unknown initializer: ''"},
        {"{\"class_name\": \"Foo\", \"config\": {}}", CK_VALUE_ERROR, "Unknown initializer: 'Foo'"},
        {"{\"class_name\": \"VarianceScaling\", \"config\": {\"scale\": 0}}", CK_VALUE_ERROR,
         "`scale` must be positive float. Received: scale=0"},
        {"{\"class_name\": \"VarianceScaling\", \"config\": {\"scale\": -1.5}}", CK_VALUE_ERROR,
         "scale=-1.5"},
        {"{\"class_name\": \"VarianceScaling\", \"config\": {\"mode\": \"fan_x\"}}", CK_VALUE_ERROR,
         "Invalid `mode` argument: \"fan_x\""},
        {"{\"class_name\": \"VarianceScaling\", \"config\": {\"distribution\": \"gauss\"}}",
         CK_VALUE_ERROR, "Invalid `distribution` argument"},
        {"{\"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null, \"scale\": 1}}",
         CK_TYPE_ERROR, "unexpected keyword argument 'scale'"},
        {"{\"class_name\": \"RandomNormal\", \"config\": {\"seed\": \"x\"}}", CK_VALUE_ERROR, "seed"},
        {"{\"class_name\": \"RandomNormal\", \"config\": {\"stddev\": \"x\"}}", CK_VALUE_ERROR, "stddev"},
        {"{\"class_name\": \"Constant\", \"config\": {\"value\": \"x\"}}", CK_VALUE_ERROR, "value"},
        {"{\"class_name\": \"Zeros\", \"config\": [1]}", CK_TYPE_ERROR, "dict"},
        {"{\"class_name\": \"Zeros\"", CK_FORMAT_ERROR, "malformed"},
        {"{\"foo\": 1}", CK_VALUE_ERROR, "Could not interpret initializer identifier"},
        {"\"nope\"", CK_VALUE_ERROR, "Unknown initializer: 'nope'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_initializer *in = (ck_initializer *)0x1;
        cr_expect_eq(ck_initializer_new(&in, cases[i].text), cases[i].st, "%s: %s", cases[i].text,
                     ck_last_error());
        cr_expect(strstr(ck_last_error(), cases[i].fragment) != NULL, "%s: %s", cases[i].text,
                  ck_last_error());
        cr_expect_eq(in, (ck_initializer *)0x1);
    }
    ck_initializer *in = (ck_initializer *)0x1;
    cr_expect_eq(ck_initializer_from_config(&in, "null"), CK_VALUE_ERROR);
    cr_expect_eq(ck_initializer_new(&in, NULL), CK_VALUE_ERROR);
    cr_expect_eq(in, (ck_initializer *)0x1);
}

static ck_initializer *oom_init;
static ck_tensor *oom_tensor;

static ck_status oom_new(void *ctx) { return ck_initializer_new(&oom_init, (const char *)ctx); }
static void oom_cleanup(void *ctx)
{
    (void)ctx;
    ck_initializer_free(oom_init);
    oom_init = NULL;
}
static ck_status oom_fill(void *ctx) { return ck_initializer_fill((const ck_initializer *)ctx, oom_tensor); }
static void no_cleanup(void *ctx) { (void)ctx; }
static ck_status oom_copy(void *ctx) { return ck_initializer_copy(&oom_init, (const ck_initializer *)ctx); }

Test(initializers, failing_allocations)
{
    cr_expect_geq(ck_test_every_allocation_fails(oom_new, oom_cleanup, "glorot_uniform"), 2); /* jansson allocates too */
    cr_expect_geq(ck_test_every_allocation_fails(
                     oom_new, oom_cleanup,
                     "{\"class_name\": \"VarianceScaling\", \"config\": {\"scale\": 2.0}}"), 2); /* jansson allocates too */
    ck_initializer *in = NULL;
    cr_assert_eq(ck_initializer_new(&in, "orthogonal"), CK_OK);
    int64_t shape[2] = {6, 4};
    cr_assert_eq(ck_tensor_new(&oom_tensor, CK_FLOAT32, 2, shape), CK_OK);
    cr_expect_eq(ck_test_every_allocation_fails(oom_fill, no_cleanup, in), 3);
    cr_expect_eq(ck_test_every_allocation_fails(oom_copy, oom_cleanup, in), 1);
    ck_tensor_free(oom_tensor);
    ck_initializer_free(in);
}

/* Keras 3.15 writes input_axes / output_axes in the VarianceScaling family
 * (GlorotUniform {"seed": null, "input_axes": null, "output_axes": null}):
 * null keeps the usual fans and round-trips as tf.keras 2.x writes it;
 * given axes make the fans the products of those kernel dims. */
Test(initializers, keras3_fan_axes)
{
    ck_initializer *in = NULL;
    cr_assert_eq(ck_initializer_new(&in, "{\"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null, "
                                         "\"input_axes\": null, \"output_axes\": null}}"),
                 CK_OK, "%s", ck_last_error());
    char *cfg = ck_initializer_config(in);
    cr_expect_str_eq(cfg, "{\"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null}}");
    ck_free(cfg);
    ck_initializer_free(in);
    /* (10, 20, 30), fans 200 and 30 from the axes: limit sqrt(6 / 230);
     * the default fans (200, 300 with receptive field 10) give sqrt(6 / 500). */
    static const int64_t K[3] = {10, 20, 30};
    ck_tensor *t = filled("{\"class_name\": \"GlorotUniform\", \"config\": {\"seed\": 3, "
                          "\"input_axes\": [0, 1], \"output_axes\": [-1]}}", CK_FLOAT64, 3, K);
    stats s = stats_of(t);
    double lim = sqrt(6.0 / 230);
    cr_expect(s.max <= lim && s.max > 0.98 * lim && s.min >= -lim && s.min < -0.98 * lim,
              "range [%g, %g], limit %g", s.min, s.max, lim);
    ck_tensor_free(t);
    cr_assert_eq(ck_initializer_new(&in, "{\"class_name\": \"HeNormal\", \"config\": {\"seed\": null, "
                                         "\"input_axes\": [0], \"output_axes\": [1]}}"), CK_OK);
    cfg = ck_initializer_config(in);
    cr_expect_str_eq(cfg, "{\"class_name\": \"HeNormal\", \"config\": {\"seed\": null, \"input_axes\": [0], "
                          "\"output_axes\": [1]}}");
    ck_free(cfg);
    ck_initializer_free(in);
    cr_expect_eq(ck_initializer_new(&in, "{\"class_name\": \"GlorotUniform\", \"config\": {\"input_axes\": 3}}"),
                 CK_VALUE_ERROR);
    cr_expect_eq(ck_initializer_new(&in, "{\"class_name\": \"Orthogonal\", \"config\": {\"input_axes\": [0]}}"),
                 CK_TYPE_ERROR); /* not an argument of Orthogonal: Keras' TypeError */
}
