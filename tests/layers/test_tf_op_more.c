/* The TFOpLambda functions of issue 8 against tf.keras 2.15
 * (tools/gen_tf_op_more_goldens.py -> tests/data/layers/tfop_more):
 * comparisons and logical ops (bool results, int32 0 / 1 in ckeras),
 * where, cumsum, gather, one_hot and split (several outputs) load from
 * tf.keras configs and predict like TF; models whose outputs are floats
 * compute like TF in float64 with the input gradients of a GradientTape
 * and pass a central-difference gradient check; configs write back as
 * tf.keras writes them; a model file (.h5 and .keras) using them predicts,
 * saves and reloads; ck_tf_op builds them from C. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "support/gradcheck.h"
#include "support/support.h"

/* A golden tensor in its recorded dtype ("int32" or "float64"), floats
 * made `dt`. */
static ck_tensor *fx(const json_t *j, ck_dtype dt)
{
    const json_t *shape = json_object_get(j, "shape"), *data = json_object_get(j, "data");
    const char *kind = json_string_value(json_object_get(j, "dtype"));
    if (kind && strcmp(kind, "int32") == 0) dt = CK_INT32;
    int64_t dims[CK_MAX_RANK];
    int rank = (int)json_array_size(shape);
    for (int i = 0; i < rank; i++) dims[i] = json_integer_value(json_array_get(shape, (size_t)i));
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dt, rank, dims), CK_OK);
    cr_assert_eq((size_t)t->size, json_array_size(data));
    for (int64_t i = 0; i < t->size; i++) {
        double v = json_number_value(json_array_get(data, (size_t)i));
        if (dt == CK_FLOAT32) ((float *)t->data)[i] = (float)v;
        else if (dt == CK_INT32) ((int32_t *)t->data)[i] = (int32_t)v;
        else ((double *)t->data)[i] = v;
    }
    return t;
}

static void expect_close(const char *name, const char *what, const ck_tensor *got, const ck_tensor *want, double tol)
{
    cr_assert_eq(got->rank, want->rank, "%s %s: rank %d, TF %d", name, what, got->rank, want->rank);
    for (int i = 0; i < got->rank; i++) cr_assert_eq(got->shape[i], want->shape[i], "%s %s: dim %d", name, what, i);
    for (int64_t i = 0; i < got->size; i++) {
        double g = ck_tensor_get(got, i), e = ck_tensor_get(want, i);
        cr_expect(fabs(g - e) <= tol * (1 + fabs(e)), "%s %s[%lld]: got %.10g, TF %.10g", name, what, (long long)i,
                  g, e);
    }
}

static ck_model *model_of(const json_t *config, const char *name)
{
    char *text = json_dumps(config, 0);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_from_json(text, &m), CK_OK, "%s: %s", name, ck_last_error());
    free(text);
    return m;
}

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/tfop_more/goldens.json")); }

#define MAX_IO 4

static int inputs_of(const json_t *c, ck_dtype dt, ck_tensor **x)
{
    const json_t *xs = json_object_get(c, "x");
    for (size_t k = 0; k < json_array_size(xs); k++) x[k] = fx(json_array_get(xs, k), dt);
    return (int)json_array_size(xs);
}

Test(tf_op_more, predictions_match_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    cr_assert_geq(json_array_size(all), 25);
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_model *m = model_of(json_object_get(c, "config"), name);
        ck_tensor *x[MAX_IO] = {0}, *y[MAX_IO] = {0};
        int n = inputs_of(c, CK_FLOAT32, x);
        const json_t *ys = json_object_get(c, "y");
        cr_assert_eq(ck_model_predict(m, n, x, y, 0), CK_OK, "%s: %s", name, ck_last_error());
        for (size_t k = 0; k < json_array_size(ys); k++) {
            ck_tensor *want = fx(json_array_get(ys, k), CK_FLOAT64);
            /* bool results are int32 0 / 1 */
            cr_expect_eq(y[k]->dtype == CK_INT32, want->dtype == CK_INT32, "%s output %zu: dtype %s", name, k,
                         ck_dtype_name(y[k]->dtype));
            expect_close(name, "y", y[k], want, 1e-5);
            ck_tensor_free(want);
            ck_tensor_free(y[k]);
        }
        for (int k = 0; k < n; k++) ck_tensor_free(x[k]);
        ck_model_free(m);
    }
    json_decref(all);
}

/* Forward and backward of a float64 model as a layer: its outputs and
 * d sum_k(y_k * dy_k) / d x_i for the float inputs. */
static void forward_backward(ck_model *m, int n, ck_tensor *const *x, const json_t *dys, ck_tensor **y, ck_tensor **dx)
{
    ck_layer *l = ck_model_layer(m);
    ck_shape shapes[MAX_IO], oshapes[MAX_IO];
    int n_out = 0;
    for (int i = 0; i < n; i++) shapes[i] = ck_tensor_shape(x[i]);
    cr_assert_eq(ck_layer_compute_output_shapes(l, n, shapes, MAX_IO, oshapes, &n_out), CK_OK, "%s", ck_last_error());
    cr_assert_eq((size_t)n_out, json_array_size(dys));
    for (int k = 0; k < n_out; k++) cr_assert_eq(ck_tensor_new(&y[k], CK_FLOAT64, oshapes[k].rank, oshapes[k].dims), CK_OK);
    size_t bytes = ck_layer_saved_bytes(l, n, shapes, oshapes);
    cr_assert_neq(bytes, SIZE_MAX, "%s", ck_last_error());
    void *saved = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
    ck_train_ctx ctx = {0};
    cr_assert_eq(ck_layer_train_call(l, &ctx, n, (const ck_tensor *const *)x, y, saved), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < n; i++)
        if (x[i]->dtype == CK_FLOAT64) cr_assert_eq(ck_tensor_new(&dx[i], CK_FLOAT64, x[i]->rank, x[i]->shape), CK_OK);
    ck_tensor ohdr[MAX_IO], dhdr[MAX_IO], *d[MAX_IO];
    for (int k = 0; k < n_out; k++) {
        d[k] = fx(json_array_get(dys, (size_t)k), CK_FLOAT64);
        ohdr[k] = *y[k];
        dhdr[k] = *d[k];
    }
    cr_assert_eq(ck_layer_backward(l, &ctx, n, (const ck_tensor *const *)x, ohdr, dhdr, saved, dx), CK_OK, "%s",
                 ck_last_error());
    for (int k = 0; k < n_out; k++) ck_tensor_free(d[k]);
    free(saved);
}

Test(tf_op_more, float64_outputs_and_gradients_match_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    int checked = 0;
    json_array_foreach(all, i, c) {
        const json_t *g = json_object_get(c, "grad");
        if (!g) continue;
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_model *m = model_of(json_object_get(g, "config64"), name);
        ck_tensor *x[MAX_IO] = {0}, *dx[MAX_IO] = {0}, *y[MAX_IO] = {0};
        int n = inputs_of(c, CK_FLOAT64, x);
        forward_backward(m, n, x, json_object_get(g, "dy"), y, dx);
        const json_t *y64 = json_object_get(g, "y64");
        for (size_t k = 0; k < json_array_size(y64); k++) {
            ck_tensor *want = fx(json_array_get(y64, k), CK_FLOAT64);
            expect_close(name, "y64", y[k], want, 1e-10);
            ck_tensor_free(want);
            ck_tensor_free(y[k]);
        }
        /* dx lists the float inputs in order */
        size_t f = 0;
        for (int k = 0; k < n; k++) {
            if (!dx[k]) continue;
            ck_tensor *want = fx(json_array_get(json_object_get(g, "dx"), f++), CK_FLOAT64);
            expect_close(name, "dx", dx[k], want, 1e-10);
            ck_tensor_free(want);
        }
        cr_expect_eq(f, json_array_size(json_object_get(g, "dx")), "%s", name);
        /* and against central differences (where / comparisons are
         * piecewise: the inputs are away from their switching points) */
        cr_expect_gt(ck_test_gradcheck(ck_model_layer(m), n, x, 0, 1e-6), 0, "%s", name);
        for (int k = 0; k < n; k++) ck_tensor_free(x[k]), ck_tensor_free(dx[k]);
        ck_model_free(m);
        checked++;
    }
    cr_expect_geq(checked, 15);
    json_decref(all);
}

/* The TF-op layer entries of a model config as tf.keras writes them. */
static void expect_same_op_layers(const char *name, const json_t *got, const json_t *want)
{
    const json_t *gl = json_object_get(json_object_get(got, "config"), "layers");
    const json_t *wl = json_object_get(json_object_get(want, "config"), "layers");
    cr_assert_eq(json_array_size(gl), json_array_size(wl), "%s: layer count", name);
    int compared = 0;
    for (size_t i = 0; i < json_array_size(wl); i++) {
        const json_t *w = json_array_get(wl, i), *g = json_array_get(gl, i);
        const char *cls = json_string_value(json_object_get(w, "class_name"));
        if (strcmp(cls, "TFOpLambda") != 0 && strcmp(cls, "SlicingOpLambda") != 0) continue;
        cr_expect_str_eq(json_string_value(json_object_get(g, "class_name")), cls, "%s layer %zu", name, i);
        cr_expect(json_equal(json_object_get(g, "config"), json_object_get(w, "config")), "%s layer %zu config",
                  name, i);
        char *gn = json_dumps(json_object_get(g, "inbound_nodes"), JSON_SORT_KEYS);
        char *wn = json_dumps(json_object_get(w, "inbound_nodes"), JSON_SORT_KEYS);
        cr_expect_str_eq(gn, wn, "%s layer %zu inbound_nodes", name, i);
        free(gn);
        free(wn);
        compared++;
    }
    cr_expect_gt(compared, 0, "%s", name);
    /* split's later parts are referenced by tensor index */
    char *go = json_dumps(json_object_get(json_object_get(got, "config"), "output_layers"), 0);
    char *wo = json_dumps(json_object_get(json_object_get(want, "config"), "output_layers"), 0);
    cr_expect_str_eq(go, wo, "%s output_layers", name);
    free(go);
    free(wo);
}

Test(tf_op_more, configs_write_back_as_tf_keras)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_model *m = model_of(json_object_get(c, "config"), name);
        char *text = NULL;
        cr_assert_eq(ck_model_to_json(m, &text), CK_OK, "%s", ck_last_error());
        json_t *got = json_loads(text, 0, NULL);
        cr_assert(got);
        expect_same_op_layers(name, got, json_object_get(c, "config"));
        ck_model *again = NULL;
        cr_assert_eq(ck_model_from_json(text, &again), CK_OK, "%s: %s", name, ck_last_error());
        char *text2 = NULL;
        cr_assert_eq(ck_model_to_json(again, &text2), CK_OK);
        cr_expect_str_eq(text2, text, "%s", name);
        ck_free(text);
        ck_free(text2);
        json_decref(got);
        ck_model_free(again);
        ck_model_free(m);
    }
    json_decref(all);
}

/* The file model: inputs x (4, 6) float32 and i (4, 2) int32, four
 * outputs (the last a bool cast to float32). */
static void predict_file_like_tf(const char *path)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    ck_tensor *x[2] = {ck_test_npy("tfop_more/model_x"), ck_test_npy("tfop_more/model_i")}, *y[4] = {0};
    cr_assert_eq(ck_model_predict(m, 2, x, y, 0), CK_OK, "%s: %s", path, ck_last_error());
    for (int k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof name, "tfop_more/model_y%d", k);
        ck_tensor *want = ck_test_npy(name);
        expect_close(path, name, y[k], want, 1e-5);
        ck_tensor_free(want);
        ck_tensor_free(y[k]);
    }
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_model_free(m);
}

Test(tf_op_more, model_files_load_save_and_reload)
{
    const char *names[2] = {"model.h5", "model.keras"};
    for (int i = 0; i < 2; i++) {
        char rel[64], tmp[4096];
        snprintf(rel, sizeof rel, "layers/tfop_more/%s", names[i]);
        snprintf(tmp, sizeof tmp, "%s", ck_test_data(rel));
        predict_file_like_tf(tmp);
        ck_model *m = NULL;
        cr_assert_eq(ck_model_load(tmp, &m), CK_OK, "%s", ck_last_error());
        char saved[64];
        snprintf(saved, sizeof saved, "tfop_more_%s", names[i]);
        snprintf(tmp, sizeof tmp, "%s", ck_test_tmp(saved));
        cr_assert_eq(ck_model_save(m, tmp), CK_OK, "%s: %s", tmp, ck_last_error());
        ck_model_free(m);
        predict_file_like_tf(tmp);
    }
}

Test(tf_op_more, steady_state_predict_allocates_nothing)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("layers/tfop_more/model.h5"), &m), CK_OK, "%s", ck_last_error());
    ck_tensor *x[2] = {ck_test_npy("tfop_more/model_x"), ck_test_npy("tfop_more/model_i")}, *y[4] = {0};
    cr_assert_eq(ck_model_predict(m, 2, x, y, 3), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_predict_into(m, 2, x, y, 3), CK_OK, "%s", ck_last_error());
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 2, x, y, 3);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(attempts, 0, "%ld allocation(s) in steady state", attempts);
    ck_tensor *want = ck_test_npy("tfop_more/model_y0");
    expect_close("steady state", "y0", y[0], want, 1e-5);
    ck_tensor_free(want);
    for (int k = 0; k < 4; k++) ck_tensor_free(y[k]);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_model_free(m);
}

/* A one-op model on a (batch, 3, 4) float input "x" (and, when `int_input`,
 * a (batch, 2) int32 input "i"). */
static ck_status load_op(const char *function, const char *node, int int_input)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3, 4], \"dtype\": "
             "\"float32\", \"name\": \"x\"}, \"name\": \"x\", \"inbound_nodes\": []},"
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 2], \"dtype\": "
             "\"int32\", \"name\": \"i\"}, \"name\": \"i\", \"inbound_nodes\": []},"
             "{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"op\", \"trainable\": true, \"dtype\": "
             "\"float32\", \"function\": \"%s\"}, \"name\": \"op\", \"inbound_nodes\": [%s]}],"
             "\"input_layers\": [[\"x\", 0, 0]%s], \"output_layers\": [[\"op\", 0, 0]]}}",
             function, node, int_input ? ", [\"i\", 0, 0]" : "");
    ck_model *m = NULL;
    ck_status st = ck_model_from_json(text, &m);
    if (m) ck_model_free(m);
    return st;
}

Test(tf_op_more, unsupported_arguments_and_bad_shapes_are_named)
{
    cr_expect_eq(load_op("where", "[\"x\", 0, 0, {}]", 0), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "where") && strstr(ck_last_error(), "\"op\""), "%s", ck_last_error());
    cr_expect_eq(load_op("compat.v1.gather", "[\"x\", 0, 0, {\"indices\": [0], \"batch_dims\": 1}]", 0),
                 CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "batch_dims"), "%s", ck_last_error());
    cr_expect_eq(load_op("compat.v1.gather", "[\"x\", 0, 0, {\"indices\": [0], \"axis\": 3}]", 0), CK_VALUE_ERROR);
    cr_expect_eq(load_op("split", "[\"x\", 0, 0, {\"num_or_size_splits\": 3, \"axis\": 2}]", 0), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "divisible by 3"), "%s", ck_last_error());
    cr_expect_eq(load_op("split", "[\"x\", 0, 0, {\"num_or_size_splits\": [1, 1], \"axis\": 1}]", 0),
                 CK_VALUE_ERROR);
    cr_expect_eq(load_op("split", "[\"x\", 0, 0, {\"num_or_size_splits\": [-1, -1], \"axis\": 1}]", 0),
                 CK_VALUE_ERROR);
    cr_expect_eq(load_op("one_hot", "[\"i\", 0, 0, {\"depth\": 4, \"axis\": 5}]", 1), CK_VALUE_ERROR);
    cr_expect_eq(load_op("one_hot", "[\"i\", 0, 0, {\"on_value\": 1.0}]", 1), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "depth"), "%s", ck_last_error());
    cr_expect_eq(load_op("math.cumsum", "[\"x\", 0, 0, {\"axis\": -4}]", 0), CK_VALUE_ERROR);
    cr_expect_eq(load_op("math.greater", "[\"x\", 0, 0, {\"y\": [1.0, 2.0]}]", 0), CK_VALUE_ERROR);
    cr_expect_eq(load_op("math.bitwise_and", "[\"x\", 0, 0, {}]", 0), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "math.bitwise_and"), "%s", ck_last_error());
    cr_expect_eq(load_op("compat.v1.gather", "[\"x\", 0, 0, {\"indices\": [\"i\", 0, 0], \"axis\": 1}]", 1), CK_OK,
                 "%s", ck_last_error());
    /* indices out of range are a runtime error naming the layer */
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"g\", \"function\": "
                                      "\"compat.v1.gather\"}}", &l), CK_OK);
    json_t *kw = json_loads("{\"indices\": [0, 3], \"axis\": 1}", 0, NULL), *args = json_pack("{si}", "__ck_input__", 0);
    cr_assert_eq(l->cls->node_call(l, args, kw), CK_OK, "%s", ck_last_error());
    double v[6] = {1, 2, 3, 4, 5, 6};
    ck_tensor *x = ck_test_f64(2, (int64_t[]){2, 3}, v), *y = NULL;
    cr_expect_eq(ck_layer_call(l, 1, &x, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "\"g\"") && strstr(ck_last_error(), "indices[1] = 3"), "%s", ck_last_error());
    ck_tensor_free(x);
    json_decref(kw);
    json_decref(args);
    ck_layer_free(l);
}

/* ck_tf_op builds from C what tf.keras built: where on three tensors,
 * gather with tensor indices, split with every part reachable through
 * ck_layer_output. */
static const json_t *case_named(const json_t *all, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0) return c;
    cr_assert_fail("no golden case %s", name);
    return NULL;
}

static void expect_model_like(const char *name, ck_model *m, const json_t *c)
{
    char *text = NULL;
    cr_assert_eq(ck_model_to_json(m, &text), CK_OK, "%s", ck_last_error());
    json_t *got = json_loads(text, 0, NULL);
    expect_same_op_layers(name, got, json_object_get(c, "config"));
    json_decref(got);
    ck_free(text);
    ck_tensor *x[MAX_IO] = {0}, *y[MAX_IO] = {0};
    int n = inputs_of(c, CK_FLOAT32, x);
    cr_assert_eq(ck_model_predict(m, n, x, y, 0), CK_OK, "%s: %s", name, ck_last_error());
    const json_t *ys = json_object_get(c, "y");
    for (size_t k = 0; k < json_array_size(ys); k++) {
        ck_tensor *want = fx(json_array_get(ys, k), CK_FLOAT64);
        expect_close(name, "c api y", y[k], want, 1e-5);
        ck_tensor_free(want);
        ck_tensor_free(y[k]);
    }
    for (int k = 0; k < n; k++) ck_tensor_free(x[k]);
}

Test(tf_op_more, c_api_builds_what_tf_keras_builds)
{
    json_t *all = goldens();
    ck_clear_session();
    ck_tensor *x = NULL, *y = NULL, *i = NULL;
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = CK_TEST_SHAPE(3, 4), .name = "in0"}), CK_OK);
    cr_assert_eq(ck_input(&y, &(ck_input_opts){.shape = CK_TEST_SHAPE(3, 4), .name = "in1"}), CK_OK);
    /* tf.where(x > y, x, y * 2.0) */
    ck_tensor *gt = NULL, *y2 = NULL, *w = NULL;
    cr_assert_eq(ck_tf_op("math.greater", 2, (ck_tensor *[]){x, y}, "{\"name\": null}", &gt), CK_OK, "%s",
                 ck_last_error());
    cr_assert_eq(ck_tf_op("math.multiply", 1, &y, "{\"y\": 2.0, \"name\": null}", &y2), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_tf_op("where", 3, (ck_tensor *[]){gt, x, y2}, NULL, &w), CK_OK, "%s", ck_last_error());
    cr_expect_eq(gt->dtype, CK_INT32);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 2, (ck_tensor *[]){x, y}, 1, &w, "case"), CK_OK, "%s", ck_last_error());
    expect_model_like("where_tensors", m, case_named(all, "where_tensors"));
    ck_model_free(m);
    ck_layer_free(ck_tensor_layer(gt));
    ck_layer_free(ck_tensor_layer(y2));
    ck_layer_free(ck_tensor_layer(w));
    ck_layer_free(ck_tensor_layer(y));

    /* tf.gather(x, i, axis=1) */
    cr_assert_eq(ck_input(&i, &(ck_input_opts){.shape = CK_TEST_SHAPE(2), .dtype = CK_INT32, .name = "in1"}), CK_OK);
    ck_tensor *g = NULL;
    cr_assert_eq(ck_tf_op("compat.v1.gather", 2, (ck_tensor *[]){x, i},
                          "{\"validate_indices\": null, \"name\": null, \"axis\": 1, \"batch_dims\": 0}", &g),
                 CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_new(&m, 2, (ck_tensor *[]){x, i}, 1, &g, "case"), CK_OK, "%s", ck_last_error());
    expect_model_like("gather_tensor_indices", m, case_named(all, "gather_tensor_indices"));
    ck_model_free(m);
    ck_layer_free(ck_tensor_layer(g));
    ck_layer_free(ck_tensor_layer(i));

    /* tf.split(x, [1, 2], axis=1): both parts */
    ck_tensor *first = NULL;
    cr_assert_eq(ck_tf_op("split", 1, &x, "{\"num_or_size_splits\": [1, 2], \"axis\": 1}", &first), CK_OK, "%s",
                 ck_last_error());
    cr_expect_eq(ck_layer_output_count(ck_tensor_layer(first)), 2);
    ck_tensor *const *parts = NULL;
    int n_parts = 0;
    cr_assert_eq(ck_layer_output(ck_tensor_layer(first), &parts, &n_parts), CK_OK, "%s", ck_last_error());
    cr_assert_eq(n_parts, 2);
    cr_expect_eq(parts[0], first);
    cr_assert_eq(ck_model_new(&m, 1, &x, 2, (ck_tensor *[]){parts[0], parts[1]}, "case"), CK_OK, "%s",
                 ck_last_error());
    expect_model_like("split_sizes", m, case_named(all, "split_sizes"));
    ck_model_free(m);
    ck_layer_free(ck_tensor_layer(first));
    ck_layer_free(ck_tensor_layer(x));

    /* too many tensors for the function */
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = CK_TEST_SHAPE(3)}), CK_OK);
    ck_tensor *out = NULL;
    cr_expect_eq(ck_tf_op("where", 4, (ck_tensor *[]){x, x, x, x}, NULL, &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "at most 3"), "%s", ck_last_error());
    cr_expect_eq(ck_tf_op("compat.v1.gather", 2, (ck_tensor *[]){x, x}, "{\"indices\": [0]}", &out), CK_VALUE_ERROR);
    ck_layer_free(ck_tensor_layer(x));
    json_decref(all);
}

/* Loading configs with these functions (tensor kwargs, constants, several
 * outputs) and writing them back fail cleanly at every allocation. */
typedef struct oom_ctx {
    const char *text;
    ck_model *m;
    char *written;
} oom_ctx;

static ck_status load_and_write(void *p)
{
    oom_ctx *c = p;
    ck_status st = ck_model_from_json(c->text, &c->m);
    if (st == CK_OK) st = ck_model_to_json(c->m, &c->written);
    if (st != CK_OK && c->m) {
        ck_model_free(c->m);
        c->m = NULL;
    }
    return st;
}

static void undo_load(void *p)
{
    oom_ctx *c = p;
    if (c->m) ck_model_free(c->m);
    ck_free(c->written);
    c->m = NULL;
    c->written = NULL;
}

Test(tf_op_more, every_allocation_failure_is_clean)
{
    json_t *all = goldens();
    const char *names[] = {"where_broadcast", "gather_tensor_indices", "one_hot_values_axis", "split_inferred_size",
                           "compare_functions"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char *text = json_dumps(json_object_get(case_named(all, names[k]), "config"), 0);
        oom_ctx ctx = {text, NULL, NULL};
        cr_expect_gt(ck_test_every_allocation_fails(load_and_write, undo_load, &ctx), 20, "%s", names[k]);
        free(text);
    }
    json_decref(all);
}

/* One epoch of SGD through split, where, cumsum, gather, one_hot and a
 * comparison (mse on each of the four outputs) ends with tf.keras'
 * weights and loss. */
Test(tf_op_more, fit_one_epoch_like_tf)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("layers/tfop_more/model.h5"), &m), CK_OK, "%s", ck_last_error());
    json_t *fit = ck_test_load_json(ck_test_data("layers/tfop_more/fit.json"));
    ck_tensor *x[2] = {ck_test_npy("tfop_more/model_x"), ck_test_npy("tfop_more/model_i")}, *t[4];
    for (int k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof name, "tfop_more/fit_t%d", k);
        t[k] = ck_test_npy(name);
    }
    cr_assert_eq(ck_model_compile(m, &(ck_compile_opts){.optimizer = "sgd", .loss = "mse"}), CK_OK, "%s",
                 ck_last_error());
    cr_assert_eq(ck_optimizer_set_learning_rate(ck_model_optimizer(m), 0.05), CK_OK);
    ck_history *h = NULL;
    cr_assert_eq(ck_model_fit(m, 2, x, 4, t, &(ck_fit_opts){.batch_size = 2, .epochs = 1, .no_shuffle = true,
                                                            .verbose = ck_int(0)},
                              &h),
                 CK_OK, "%s", ck_last_error());
    double loss = ck_history_get(h, "loss", 0), want_loss = json_number_value(json_object_get(fit, "loss"));
    cr_expect(fabs(loss - want_loss) <= 1e-5 * (1 + fabs(want_loss)), "loss %.8g, tf.keras %.8g", loss, want_loss);
    ck_tensor **w = NULL;
    int n = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(m), &w, &n), CK_OK);
    const json_t *want = json_object_get(fit, "weights");
    cr_assert_eq((size_t)n, json_array_size(want));
    for (int i = 0; i < n; i++) {
        ck_tensor *e = fx(json_array_get(want, (size_t)i), CK_FLOAT64);
        expect_close("fit", "weight", w[i], e, 1e-5);
        ck_tensor_free(e);
        ck_tensor_free(w[i]);
    }
    ck_free(w);
    ck_history_free(h);
    for (int k = 0; k < 4; k++) ck_tensor_free(t[k]);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    json_decref(fit);
    ck_model_free(m);
}
