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
#include "support/golden_json.h"
#include "support/golden_model.h"
#include "support/gradcheck.h"
#include "support/support.h"

/* A golden tensor in its recorded dtype ("int32" or "float64"), floats
 * made `dt`. */
static ck_tensor *fx(const json_t *j, ck_dtype dt)
{
    const char *kind = json_string_value(json_object_get(j, "dtype"));
    return ck_test_golden_tensor(j, kind && strcmp(kind, "int32") == 0 ? CK_INT32 : dt);
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
        ck_model *m = ck_test_model_from_json(json_object_get(c, "config"), name);
        ck_tensor *x[MAX_IO] = {0}, *y[MAX_IO] = {0};
        int n = inputs_of(c, CK_FLOAT32, x);
        const json_t *ys = json_object_get(c, "y");
        cr_assert_eq(ck_model_predict(m, n, x, y, 0), CK_OK, "%s: %s", name, ck_last_error());
        for (size_t k = 0; k < json_array_size(ys); k++) {
            ck_tensor *want = fx(json_array_get(ys, k), CK_FLOAT64);
            /* bool results are int32 0 / 1 */
            cr_expect_eq(y[k]->dtype == CK_INT32, want->dtype == CK_INT32, "%s output %zu: dtype %s", name, k,
                         ck_dtype_name(y[k]->dtype));
            ck_test_expect_close(name, "y", -1, y[k], want, 1e-5);
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
        ck_model *m = ck_test_model_from_json(json_object_get(g, "config64"), name);
        ck_tensor *x[MAX_IO] = {0}, *dx[MAX_IO] = {0}, *y[MAX_IO] = {0};
        int n = inputs_of(c, CK_FLOAT64, x);
        forward_backward(m, n, x, json_object_get(g, "dy"), y, dx);
        const json_t *y64 = json_object_get(g, "y64");
        for (size_t k = 0; k < json_array_size(y64); k++) {
            ck_tensor *want = fx(json_array_get(y64, k), CK_FLOAT64);
            ck_test_expect_close(name, "y64", -1, y[k], want, 1e-10);
            ck_tensor_free(want);
            ck_tensor_free(y[k]);
        }
        /* dx lists the float inputs in order */
        size_t f = 0;
        for (int k = 0; k < n; k++) {
            if (!dx[k]) continue;
            ck_tensor *want = fx(json_array_get(json_object_get(g, "dx"), f++), CK_FLOAT64);
            ck_test_expect_close(name, "dx", -1, dx[k], want, 1e-10);
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

/* The TF-op layer entries of a model config (whole configs) and the
 * model's outputs as tf.keras writes them. */
static void expect_same_op_layers(const char *name, const json_t *got, const json_t *want)
{
    ck_test_expect_same_op_layers(name, got, want, 0, NULL);
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
        ck_model *m = ck_test_model_from_json(json_object_get(c, "config"), name);
        json_t *got = ck_test_model_config_round_trip(name, m, NULL);
        expect_same_op_layers(name, got, json_object_get(c, "config"));
        json_decref(got);
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
        ck_test_expect_close(path, name, -1, y[k], want, 1e-5);
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
        char rel[64], saved[64];
        snprintf(rel, sizeof rel, "layers/tfop_more/%s", names[i]);
        snprintf(saved, sizeof saved, "tfop_more_%s", names[i]);
        predict_file_like_tf(ck_test_data(rel));
        predict_file_like_tf(ck_test_saved_again(ck_test_data(rel), saved));
    }
}

Test(tf_op_more, steady_state_predict_allocates_nothing)
{
    ck_tensor *x[2] = {ck_test_npy("tfop_more/model_x"), ck_test_npy("tfop_more/model_i")};
    ck_tensor *want = ck_test_npy("tfop_more/model_y0");
    ck_test_expect_steady_predict("layers/tfop_more/model.h5", 2, x, 4, want, 3);
    ck_tensor_free(want);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
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
        ck_test_expect_close(name, "c api y", -1, y[k], want, 1e-5);
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
    expect_model_like("where_tensors", m, ck_test_golden_case(all, "where_tensors"));
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
    expect_model_like("gather_tensor_indices", m, ck_test_golden_case(all, "gather_tensor_indices"));
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
    expect_model_like("split_sizes", m, ck_test_golden_case(all, "split_sizes"));
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
Test(tf_op_more, every_allocation_failure_is_clean)
{
    static const char *const names[] = {"where_broadcast", "gather_tensor_indices", "one_hot_values_axis",
                                         "split_inferred_size", "compare_functions"};
    json_t *all = goldens();
    ck_test_expect_config_allocation_sweeps(all, 5, names, 20);
    json_decref(all);
}

/* One epoch of SGD through split, where, cumsum, gather, one_hot and a
 * comparison (mse on each of the four outputs) ends with tf.keras'
 * weights and loss. */
Test(tf_op_more, fit_one_epoch_like_tf)
{
    json_t *fit = ck_test_load_json(ck_test_data("layers/tfop_more/fit.json"));
    ck_tensor *x[2] = {ck_test_npy("tfop_more/model_x"), ck_test_npy("tfop_more/model_i")}, *t[4];
    for (int k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof name, "tfop_more/fit_t%d", k);
        t[k] = ck_test_npy(name);
    }
    ck_history *h = ck_test_fit_one_epoch_like_tf("layers/tfop_more/model.h5", 2, x, 4, t, 2,
                                                  json_object_get(fit, "weights"));
    double loss = ck_history_get(h, "loss", 0), want_loss = json_number_value(json_object_get(fit, "loss"));
    cr_expect(fabs(loss - want_loss) <= 1e-5 * (1 + fabs(want_loss)), "loss %.8g, tf.keras %.8g", loss, want_loss);
    ck_history_free(h);
    for (int k = 0; k < 4; k++) ck_tensor_free(t[k]);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    json_decref(fit);
}
