/* ck_limit (include/ckeras.h): each limit, lowered, refuses a file or a
 * config with a CK_FORMAT_ERROR naming the limit, and the default accepts
 * the same input (the real-file tests of tests/model/ load every real
 * model file of the test data at the defaults). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

/* Every limit back to its default (a value above it is clamped). */
static void restore(void)
{
    for (int i = 0; i < CK_LIMIT_COUNT; i++) ck_limit((ck_limit_id)i, INT64_MAX);
}

TestSuite(limits, .fini = restore);

/* The error of a refused call names the limit. */
static void expect_refused(ck_status st, const char *limit)
{
    cr_assert_eq(st, CK_FORMAT_ERROR, "expected a refusal naming %s; got %d: %s", limit, st, ck_last_error());
    cr_expect(strstr(ck_last_error(), limit), "'%s' does not name %s", ck_last_error(), limit);
}

Test(limits, query_set_clamp_and_unknown_ids)
{
    cr_expect_eq(ck_limit(CK_LIMIT_MODEL_DEPTH, -1), CK_MAX_MODEL_DEPTH);
    cr_expect_eq(ck_limit(CK_LIMIT_TENSOR_RANK, -1), CK_MAX_RANK);
    cr_expect_eq(ck_limit(CK_LIMIT_ARCHIVE_ENTRY_RATIO, -1), 1100);
    cr_expect_eq(ck_limit(CK_LIMIT_LAYERS, 10), 1000000, "returns the previous value");
    cr_expect_eq(ck_limit(CK_LIMIT_LAYERS, -5), 10);
    cr_expect_eq(ck_limit(CK_LIMIT_LAYERS, 5000000), 10);
    cr_expect_eq(ck_limit(CK_LIMIT_LAYERS, -1), 1000000, "raised no higher than the default");
    cr_expect_eq(ck_limit(CK_LIMIT_MODEL_DEPTH, 1000), CK_MAX_MODEL_DEPTH);
    cr_expect_eq(ck_limit(CK_LIMIT_MODEL_DEPTH, -1), CK_MAX_MODEL_DEPTH);
    cr_expect_eq(ck_limit((ck_limit_id)CK_LIMIT_COUNT, 5), -1);
    cr_expect_eq(ck_limit((ck_limit_id)-1, 5), -1);
    cr_expect_eq(ck_limit(CK_LIMIT_CONFIG_BYTES, 0), (int64_t)256 << 20);
    cr_expect_eq(ck_limit(CK_LIMIT_CONFIG_BYTES, -1), 0);
}

/* `levels` Sequential models nested inside each other around one Dense,
 * each starting with an InputLayer: 2 * levels layer entries. */
static char *nested_sequential(int levels)
{
    size_t cap = 256 + (size_t)levels * 256;
    char *s = malloc(cap);
    cr_assert(s);
    size_t n = 0;
    for (int i = 0; i < levels; i++)
        n += (size_t)snprintf(s + n, cap - n, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s%d\", "
                              "\"layers\": [{\"class_name\": \"InputLayer\", \"config\": "
                              "{\"batch_input_shape\": [null, 3], \"name\": \"in%d\"}}, ", i, i);
    n += (size_t)snprintf(s + n, cap - n, "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2}}");
    for (int i = 0; i < levels; i++) n += (size_t)snprintf(s + n, cap - n, "]}}");
    return s;
}

Test(limits, model_depth_in_model_json_layer_config_and_files)
{
    char *three = nested_sequential(3);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_from_json(three, &m), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    ck_limit(CK_LIMIT_MODEL_DEPTH, 2);
    m = NULL;
    expect_refused(ck_model_from_json(three, &m), "CK_LIMIT_MODEL_DEPTH");
    cr_expect_null(m);
    ck_layer *l = NULL;
    expect_refused(ck_layer_from_config(three, &l), "CK_LIMIT_MODEL_DEPTH");
    cr_expect_null(l);
    /* a file: the message names it */
    const char *path = ck_test_tmp("limits_depth3.json");
    FILE *fp = fopen(path, "w");
    cr_assert(fp);
    fputs(three, fp);
    fclose(fp);
    expect_refused(ck_model_load(path, &m), "CK_LIMIT_MODEL_DEPTH");
    cr_expect(strstr(ck_last_error(), "limits_depth3.json"), "%s", ck_last_error());
    ck_limit(CK_LIMIT_MODEL_DEPTH, 3);
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    free(three);
    /* past the default: 33 levels (issue 9: 460 used to load, then overflow) */
    restore();
    char *deep = nested_sequential(CK_MAX_MODEL_DEPTH + 1);
    m = NULL;
    expect_refused(ck_model_from_json(deep, &m), "CK_LIMIT_MODEL_DEPTH");
    free(deep);
    char *at_cap = nested_sequential(CK_MAX_MODEL_DEPTH);
    cr_expect_eq(ck_model_from_json(at_cap, &m), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    free(at_cap);
}

Test(limits, layer_count_counts_every_level)
{
    char *three = nested_sequential(3); /* 6 entries */
    ck_model *m = NULL;
    ck_limit(CK_LIMIT_LAYERS, 5);
    expect_refused(ck_model_from_json(three, &m), "CK_LIMIT_LAYERS");
    ck_limit(CK_LIMIT_LAYERS, 6);
    cr_assert_eq(ck_model_from_json(three, &m), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    free(three);
}

Test(limits, config_bytes_in_json_h5_and_keras_files)
{
    char *one = nested_sequential(1);
    size_t len = strlen(one);
    ck_model *m = NULL;
    ck_limit(CK_LIMIT_CONFIG_BYTES, (int64_t)len - 1);
    expect_refused(ck_model_from_json(one, &m), "CK_LIMIT_CONFIG_BYTES");
    ck_layer *l = NULL;
    expect_refused(ck_layer_from_config(one, &l), "CK_LIMIT_CONFIG_BYTES");
    ck_limit(CK_LIMIT_CONFIG_BYTES, (int64_t)len);
    cr_assert_eq(ck_model_from_json(one, &m), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    free(one);
    /* the .h5 model_config attribute and the .keras config.json */
    ck_limit(CK_LIMIT_CONFIG_BYTES, 200);
    expect_refused(ck_model_load(ck_test_data("train/fit/mlp_adam/init.h5"), &m), "CK_LIMIT_CONFIG_BYTES");
    cr_expect(strstr(ck_last_error(), "init.h5"), "%s", ck_last_error());
    expect_refused(ck_model_load(ck_test_data("layers/recurrent/rnn_model.keras"), &m), "CK_LIMIT_CONFIG_BYTES");
    cr_expect(strstr(ck_last_error(), "rnn_model.keras"), "%s", ck_last_error());
    restore();
    cr_assert_eq(ck_model_load(ck_test_data("train/fit/mlp_adam/init.h5"), &m), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
}

Test(limits, archive_entry_size_and_ratio)
{
    const char *padded = ck_test_data("limits/padded_deflated.keras"); /* 4.9 KB, an entry of 400 KB */
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(padded, &m), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    ck_limit(CK_LIMIT_ARCHIVE_ENTRY_RATIO, 50);
    expect_refused(ck_model_load(padded, &m), "CK_LIMIT_ARCHIVE_ENTRY_RATIO");
    cr_expect(strstr(ck_last_error(), "metadata.json"), "%s", ck_last_error());
    ck_limit(CK_LIMIT_ARCHIVE_ENTRY_RATIO, 100);
    cr_assert_eq(ck_model_load(padded, &m), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    ck_limit(CK_LIMIT_ARCHIVE_ENTRY_BYTES, 100000);
    expect_refused(ck_model_load(padded, &m), "CK_LIMIT_ARCHIVE_ENTRY_BYTES");
    /* the stored (uncompressed) original: model.weights.h5 is 29 KB */
    const char *stored = ck_test_data("layers/recurrent/rnn_model.keras");
    ck_limit(CK_LIMIT_ARCHIVE_ENTRY_BYTES, 20000);
    expect_refused(ck_model_load(stored, &m), "CK_LIMIT_ARCHIVE_ENTRY_BYTES");
    cr_expect(strstr(ck_last_error(), "model.weights.h5"), "%s", ck_last_error());
    ck_limit(CK_LIMIT_ARCHIVE_ENTRY_BYTES, 40000);
    cr_assert_eq(ck_model_load(stored, &m), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
}

static const char DENSE_1000[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 1000], \"name\": \"in\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1000}}]}}";

Test(limits, weight_bytes_of_built_models_and_read_weights)
{
    /* Dense(1000) on 1000 features: 4,004,000 bytes of weights */
    ck_model *m = NULL;
    ck_limit(CK_LIMIT_WEIGHT_BYTES, 4000000);
    expect_refused(ck_model_from_json(DENSE_1000, &m), "CK_LIMIT_WEIGHT_BYTES");
    ck_layer *l = NULL;
    expect_refused(ck_layer_from_config(DENSE_1000, &l), "CK_LIMIT_WEIGHT_BYTES");
    ck_limit(CK_LIMIT_WEIGHT_BYTES, 4004000);
    cr_assert_eq(ck_model_from_json(DENSE_1000, &m), CK_OK, "%s", ck_last_error());
    /* a program building its own layers is not limited: no load is running */
    ck_limit(CK_LIMIT_WEIGHT_BYTES, 10);
    ck_layer *d = NULL;
    cr_assert_eq(ck_dense(&d, &(ck_dense_opts){.units = 64}), CK_OK);
    ck_tensor *x = NULL;
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = {.rank = 1, .dims = {32}}}), CK_OK, "%s", ck_last_error());
    ck_tensor *y = NULL;
    cr_expect_eq(ck_layer_apply(d, 1, &x, &y), CK_OK, "%s", ck_last_error());
    ck_layer_free(d);
    ck_layer_free(ck_tensor_layer(x));
    ck_model_free(m);
    /* a whole .h5 model: 780 bytes of weights built, 780 read, and the
     * compiled optimizer's state */
    const char *h5 = ck_test_data("train/fit/mlp_adam/init.h5");
    ck_limit(CK_LIMIT_WEIGHT_BYTES, 1000);
    expect_refused(ck_model_load(h5, &m), "CK_LIMIT_WEIGHT_BYTES");
    cr_expect(strstr(ck_last_error(), "init.h5"), "%s", ck_last_error());
    ck_limit(CK_LIMIT_WEIGHT_BYTES, 100000);
    cr_assert_eq(ck_model_load(h5, &m), CK_OK, "%s", ck_last_error());
    /* load_weights counts what it reads, per call */
    ck_limit(CK_LIMIT_WEIGHT_BYTES, 700);
    expect_refused(ck_model_load_weights(m, h5, 0), "CK_LIMIT_WEIGHT_BYTES");
    ck_limit(CK_LIMIT_WEIGHT_BYTES, 780);
    cr_expect_eq(ck_model_load_weights(m, h5, 0), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_model_load_weights(m, h5, 0), CK_OK, "the budget is per load: %s", ck_last_error());
    ck_model_free(m);
}

Test(limits, tensor_rank_and_elements_of_npy_configs_and_datasets)
{
    int64_t shape[3] = {2, 3, 2};
    float v[12] = {0};
    ck_tensor *t = ck_test_f32(3, shape, v);
    const char *path = ck_test_tmp("limits_rank3.npy");
    cr_assert_eq(ck_npy_save(path, t), CK_OK, "%s", ck_last_error());
    ck_tensor_free(t);
    ck_tensor *back = NULL;
    ck_limit(CK_LIMIT_TENSOR_RANK, 2);
    expect_refused(ck_npy_load(path, &back), "CK_LIMIT_TENSOR_RANK");
    cr_expect_null(back);
    restore();
    ck_limit(CK_LIMIT_TENSOR_ELEMENTS, 11);
    expect_refused(ck_npy_load(path, &back), "CK_LIMIT_TENSOR_ELEMENTS");
    ck_limit(CK_LIMIT_TENSOR_ELEMENTS, 12);
    cr_assert_eq(ck_npy_load(path, &back), CK_OK, "%s", ck_last_error());
    ck_tensor_free(back);
    /* an input shape in a config: (None, 1000) has 1000 elements */
    ck_model *m = NULL;
    ck_limit(CK_LIMIT_TENSOR_ELEMENTS, 999);
    expect_refused(ck_model_from_json(DENSE_1000, &m), "CK_LIMIT_TENSOR_ELEMENTS");
    restore();
    ck_limit(CK_LIMIT_TENSOR_RANK, 1);
    expect_refused(ck_model_from_json(DENSE_1000, &m), "CK_LIMIT_TENSOR_RANK");
    restore();
    /* a weight dataset of an .h5 file: the largest kernel of mlp_adam */
    ck_limit(CK_LIMIT_TENSOR_ELEMENTS, 20);
    expect_refused(ck_model_load(ck_test_data("train/fit/mlp_adam/init.h5"), &m), "CK_LIMIT_TENSOR_ELEMENTS");
}
