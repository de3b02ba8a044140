/* The file faults of issue 8, on fixtures written by tools/gen_file_faults.py
 * and tools/gen_th_conv_fixture.py (tf.keras 2.15 / h5py): "\u0000" in
 * configs, architecture files wrapped in a JSON string, Windows paths in a
 * .keras archive, Keras 1 "th" convolutions. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "io/json_check.h"
#include "support/support.h"

static const char *fx(const char *name)
{
    static char buf[4][1024];
    static int slot;
    char *b = buf[slot++ % 4];
    snprintf(b, sizeof buf[0], "%s", ck_test_data(name));
    return b;
}

/* Valid JSON may escape NUL; the syntax check used to refuse it. */
Test(file_faults, json_check_accepts_nul_escape)
{
    const char *t = "{\"a\": \"x\\u0000y\"}";
    cr_expect_eq(ck_json_check_object(t, strlen(t), "config"), CK_OK, "%s", ck_last_error());
    const char *u = "{\"a\": \"x\\u00\"}";
    cr_expect_eq(ck_json_check_object(u, strlen(u), "config"), CK_FORMAT_ERROR);
}

/* A Lambda's marshalled code holds \u0000: the file must fail for the
 * Lambda (not implemented), not as invalid JSON, and no jansson flag name
 * may reach the user. */
Test(file_faults, lambda_json_fails_naming_lambda)
{
    ck_model *m = NULL;
    ck_status st = ck_model_load(fx("faults/lambda.json"), &m);
    cr_assert_neq(st, CK_OK);
    const char *e = ck_last_error();
    cr_expect_eq(st, CK_NOT_IMPLEMENTED, "%s", e);
    cr_expect(strstr(e, "Lambda") != NULL, "%s", e);
    cr_expect(strstr(e, "JSON_ALLOW_NUL") == NULL, "%s", e);
    cr_expect(strstr(e, "not valid JSON") == NULL, "%s", e);

    char *text = NULL;
    FILE *f = fopen(fx("faults/lambda.json"), "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    text = malloc((size_t)n + 1);
    cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    st = ck_model_from_json(text, &m);
    e = ck_last_error();
    cr_expect_eq(st, CK_NOT_IMPLEMENTED, "%s", e);
    cr_expect(strstr(e, "Lambda") != NULL, "%s", e);
    cr_expect(strstr(e, "JSON_ALLOW_NUL") == NULL, "%s", e);
    free(text);
}

static char *config_of(ck_model *m)
{
    char *c = NULL;
    cr_assert_eq(ck_model_to_json(m, &c), CK_OK, "%s", ck_last_error());
    return c;
}

/* json.dump(model.to_json()) stores the JSON as a JSON string. */
Test(file_faults, wrapped_json_architecture_loads)
{
    ck_model *a = NULL, *b = NULL;
    cr_assert_eq(ck_model_load(fx("faults/wrapped.json"), &a), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_load(fx("faults/plain.json"), &b), CK_OK, "%s", ck_last_error());
    char *ca = config_of(a), *cb = config_of(b);
    cr_expect_str_eq(ca, cb);
    ck_free(ca);
    ck_free(cb);
    ck_model_free(a);
    ck_model_free(b);
}

/* A string that is not model JSON still fails as a format error. */
Test(file_faults, wrapped_garbage_is_a_format_error)
{
    const char *p = ck_test_tmp("wrapped_garbage.json");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("\"not a model\"", f);
    fclose(f);
    ck_model *m = NULL;
    cr_expect_eq(ck_model_load(p, &m), CK_FORMAT_ERROR, "%s", ck_last_error());
    cr_expect(strstr(ck_last_error(), "neither an HDF5") == NULL, "%s", ck_last_error());
}

/* Keras 3.0 on Windows named weights groups "layers\embedding". */
Test(file_faults, windows_keras_archive)
{
    json_t *ex = ck_test_load_json(fx("faults/windows_expected.json"));
    cr_assert_not_null(ex);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(fx("faults/windows.keras"), &m), CK_OK, "%s", ck_last_error());
    json_t *x = json_object_get(ex, "x"), *y = json_object_get(ex, "y");
    int64_t xs[2] = {(int64_t)json_array_size(x), (int64_t)json_array_size(json_array_get(x, 0))};
    int32_t xv[64];
    for (int64_t i = 0; i < xs[0]; i++)
        for (int64_t j = 0; j < xs[1]; j++)
            xv[i * xs[1] + j] = (int32_t)json_integer_value(json_array_get(json_array_get(x, (size_t)i), (size_t)j));
    ck_tensor *in = NULL, *out = NULL;
    cr_assert_eq(ck_tensor_from_data(&in, CK_INT32, 2, xs, xv), CK_OK);
    cr_assert_eq(ck_model_predict(m, 1, &in, &out, 0), CK_OK, "%s", ck_last_error());
    for (size_t i = 0; i < json_array_size(y); i++)
        for (size_t j = 0; j < 2; j++)
            cr_expect_float_eq(ck_tensor_get(out, (int64_t)(i * 2 + j)),
                               json_number_value(json_array_get(json_array_get(y, i), j)), 1e-5,
                               "y[%zu][%zu]", i, j);
    ck_tensor_free(in);
    ck_tensor_free(out);
    ck_model_free(m);
    json_decref(ex);
}

/* tf.keras 2.13-2.14 saved some models' layers under
 * "_layer_checkpoint_dependencies/" with skipping suffixes ("dense",
 * "dense_2" for the 1st and 2nd Dense), as real files in the wild were. */
Test(file_faults, checkpoint_dependencies_archive)
{
    json_t *ex = ck_test_load_json(fx("faults/ckpt_deps_expected.json"));
    cr_assert_not_null(ex);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(fx("faults/ckpt_deps.keras"), &m), CK_OK, "%s", ck_last_error());
    json_t *x = json_object_get(ex, "x"), *y = json_object_get(ex, "y");
    int64_t xs[2] = {(int64_t)json_array_size(x), (int64_t)json_array_size(json_array_get(x, 0))};
    float xv[16];
    for (int64_t i = 0; i < xs[0]; i++)
        for (int64_t j = 0; j < xs[1]; j++)
            xv[i * xs[1] + j] = (float)json_number_value(json_array_get(json_array_get(x, (size_t)i), (size_t)j));
    ck_tensor *in = NULL, *out = NULL;
    cr_assert_eq(ck_tensor_from_data(&in, CK_FLOAT32, 2, xs, xv), CK_OK);
    cr_assert_eq(ck_model_predict(m, 1, &in, &out, 0), CK_OK, "%s", ck_last_error());
    for (size_t i = 0; i < json_array_size(y); i++)
        for (size_t j = 0; j < 2; j++)
            cr_expect_float_eq(ck_tensor_get(out, (int64_t)(i * 2 + j)),
                               json_number_value(json_array_get(json_array_get(y, i), j)), 1e-6,
                               "y[%zu][%zu]", i, j);
    ck_tensor_free(in);
    ck_tensor_free(out);
    ck_model_free(m);
    json_decref(ex);
}
