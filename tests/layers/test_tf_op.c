/* TFOpLambda and SlicingOpLambda against tf.keras 2.15
 * (tools/gen_tfop_goldens.py -> tests/data/layers/tfop): models made of
 * TensorFlow functions on Keras tensors load from their configs and
 * predict like TF (float32), compute like TF in float64 with the input
 * gradients of a GradientTape, pass a central-difference gradient check,
 * and write their nodes back as tf.keras does; a model file mixing Dense
 * and TF ops (.h5 and .keras) predicts, saves, reloads and trains one
 * epoch like tf.keras' fit; unsupported functions and arguments are
 * refused by name. */
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

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/tfop/goldens.json")); }

Test(tf_op, predictions_match_tf_float32)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    cr_assert_geq(json_array_size(all), 30);
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_model *m = ck_test_model_from_json(json_object_get(c, "config"), name);
        const json_t *xs = json_object_get(c, "x");
        ck_tensor *x[4] = {0}, *y = NULL;
        for (size_t k = 0; k < json_array_size(xs); k++)
            x[k] = ck_test_golden_tensor(json_array_get(xs, k), CK_FLOAT32);
        cr_assert_eq(ck_model_predict(m, (int)json_array_size(xs), x, &y, 0), CK_OK, "%s: %s", name, ck_last_error());
        ck_tensor *want = ck_test_golden_tensor(json_object_get(c, "y"), CK_FLOAT64);
        ck_test_expect_close(name, "y", -1, y, want, 1e-5);
        ck_tensor_free(y);
        ck_tensor_free(want);
        for (size_t k = 0; k < json_array_size(xs); k++) ck_tensor_free(x[k]);
        ck_model_free(m);
    }
    json_decref(all);
}

/* Forward and backward of the float64 model (as a layer, inference mode):
 * the output and d sum(y * dy) / d x_i. */
static void forward_backward(ck_model *m, int n, ck_tensor *const *x, const ck_tensor *dy, ck_tensor **y,
                             ck_tensor **dx)
{
    ck_layer *l = ck_model_layer(m);
    ck_shape shapes[4], oshape;
    for (int i = 0; i < n; i++) shapes[i] = ck_tensor_shape(x[i]);
    cr_assert_eq(ck_layer_compute_output_shape(l, n, shapes, &oshape), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_tensor_new(y, CK_FLOAT64, oshape.rank, oshape.dims), CK_OK);
    size_t bytes = ck_layer_saved_bytes(l, n, shapes, &oshape);
    cr_assert_neq(bytes, SIZE_MAX, "%s", ck_last_error());
    void *saved = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
    ck_train_ctx ctx = {0};
    cr_assert_eq(ck_layer_train_call(l, &ctx, n, (const ck_tensor *const *)x, y, saved), CK_OK, "%s",
                 ck_last_error());
    for (int i = 0; i < n; i++)
        cr_assert_eq(ck_tensor_new(&dx[i], CK_FLOAT64, x[i]->rank, x[i]->shape), CK_OK);
    ck_tensor *d = NULL;
    cr_assert_eq(ck_tensor_copy(&d, dy), CK_OK);
    cr_assert_eq(ck_layer_backward(l, &ctx, n, (const ck_tensor *const *)x, *y, d, saved, dx), CK_OK, "%s",
                 ck_last_error());
    ck_tensor_free(d);
    free(saved);
}

Test(tf_op, float64_outputs_and_gradients_match_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_model *m = ck_test_model_from_json(json_object_get(c, "config64"), name);
        const json_t *xs = json_object_get(c, "x");
        int n = (int)json_array_size(xs);
        ck_tensor *x[4] = {0}, *dx[4] = {0}, *y = NULL;
        for (int k = 0; k < n; k++) x[k] = ck_test_golden_tensor(json_array_get(xs, (size_t)k), CK_FLOAT64);
        ck_tensor *dy = ck_test_golden_tensor(json_object_get(c, "dy"), CK_FLOAT64);
        ck_tensor *want = ck_test_golden_tensor(json_object_get(c, "y64"), CK_FLOAT64);
        forward_backward(m, n, x, dy, &y, dx);
        /* TF's own float64 erf and tanh differ from libm by ~1e-9 */
        ck_test_expect_close(name, "y64", -1, y, want, 1e-8);
        for (int k = 0; k < n; k++) {
            ck_tensor *g = ck_test_golden_tensor(json_array_get(json_object_get(c, "dx"), (size_t)k), CK_FLOAT64);
            ck_test_expect_close(name, "dx", -1, dx[k], g, 1e-8);
            ck_tensor_free(g);
        }
        /* and against central differences */
        cr_expect_gt(ck_test_gradcheck(ck_model_layer(m), n, x, 0, 1e-6), 0, "%s", name);
        ck_tensor_free(y);
        ck_tensor_free(want);
        ck_tensor_free(dy);
        for (int k = 0; k < n; k++) ck_tensor_free(x[k]), ck_tensor_free(dx[k]);
        ck_model_free(m);
    }
    json_decref(all);
}

/* The TF-op layer entries of a model config: class, the config keys
 * below and inbound nodes, as tf.keras writes them. */
static void expect_same_op_layers(const char *name, const json_t *got, const json_t *want)
{
    static const char *const keys[] = {"name", "trainable", "dtype", "function"};
    ck_test_expect_same_op_layers(name, got, want, 4, keys);
}

Test(tf_op, configs_write_back_as_tf_keras)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_model *m = ck_test_model_from_json(json_object_get(c, "config"), name);
        char *text = NULL;
        /* the written config loads again into the same model */
        json_t *got = ck_test_model_config_round_trip(name, m, &text);
        /* kept for checking by hand that tf.keras reads them (see
         * tools/gen_tfop_goldens.py --verify) */
        char file[128];
        snprintf(file, sizeof file, "tfop_config_%s.json", name);
        FILE *f = fopen(ck_test_tmp(file), "w");
        if (f) {
            fputs(text, f);
            fclose(f);
        }
        expect_same_op_layers(name, got, json_object_get(c, "config"));
        ck_free(text);
        json_decref(got);
        ck_model_free(m);
    }
    json_decref(all);
}

static void predict_like_tf(const char *path, const ck_tensor *x, const ck_tensor *want)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    ck_tensor *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, (ck_tensor *const *)&x, &y, 0), CK_OK, "%s: %s", path, ck_last_error());
    ck_test_expect_close(path, "y", -1, y, want, 1e-5);
    ck_tensor_free(y);
    ck_model_free(m);
}

Test(tf_op, model_files_load_save_and_reload)
{
    ck_tensor *x = ck_test_npy("tfop/model_x"), *want = ck_test_npy("tfop/model_y");
    const char *names[2] = {"model.h5", "model.keras"};
    for (int i = 0; i < 2; i++) {
        char rel[64], saved[64];
        snprintf(rel, sizeof rel, "layers/tfop/%s", names[i]);
        snprintf(saved, sizeof saved, "tfop_%s", names[i]);
        predict_like_tf(ck_test_data(rel), x, want);
        predict_like_tf(ck_test_saved_again(ck_test_data(rel), saved), x, want);
    }
    ck_tensor_free(x);
    ck_tensor_free(want);
}

Test(tf_op, fit_one_epoch_like_tf)
{
    ck_tensor *x = ck_test_npy("tfop/model_x"), *t = ck_test_npy("tfop/fit_t");
    json_t *fit = ck_test_load_json(ck_test_data("layers/tfop/fit.json"));
    ck_history_free(ck_test_fit_one_epoch_like_tf("layers/tfop/model.h5", 1, &x, 1, &t, 4,
                                                  json_object_get(fit, "weights")));
    json_decref(fit);
    ck_tensor_free(x);
    ck_tensor_free(t);
}

static ck_status load_op(const char *cls, const char *function, const char *node)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3, 4], \"dtype\": "
             "\"float32\", \"name\": \"x\"}, \"name\": \"x\", \"inbound_nodes\": []},"
             "{\"class_name\": \"%s\", \"config\": {\"name\": \"op\", \"trainable\": true, \"dtype\": \"float32\", "
             "\"function\": \"%s\"}, \"name\": \"op\", \"inbound_nodes\": [%s]}],"
             "\"input_layers\": [[\"x\", 0, 0]], \"output_layers\": [[\"op\", 0, 0]]}}",
             cls, function, node);
    ck_model *m = NULL;
    ck_status st = ck_model_from_json(text, &m);
    if (m) ck_model_free(m);
    return st;
}

Test(tf_op, unsupported_functions_and_arguments_are_named)
{
    cr_expect_eq(load_op("TFOpLambda", "math.bessel_i0", "[\"x\", 0, 0, {}]"), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "math.bessel_i0"), "%s", ck_last_error());
    cr_expect_eq(load_op("TFOpLambda", "__operators__.getitem", "[\"x\", 0, 0, {}]"), CK_NOT_IMPLEMENTED);
    cr_expect_eq(load_op("SlicingOpLambda", "math.add", "[\"x\", 0, 0, {}]"), CK_NOT_IMPLEMENTED);
    cr_expect_eq(load_op("TFOpLambda", "math.reduce_sum", "[\"x\", 0, 0, {\"axis\": 1, \"foo\": 2}]"),
                 CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "`foo`") && strstr(ck_last_error(), "\"op\""), "%s", ck_last_error());
    cr_expect_eq(load_op("TFOpLambda", "cast", "[\"x\", 0, 0, {\"dtype\": \"bfloat16\"}]"), CK_NOT_IMPLEMENTED);
    cr_expect_eq(load_op("TFOpLambda", "reshape", "[\"x\", 0, 0, {\"shape\": [-1, -1]}]"), CK_VALUE_ERROR);
    cr_expect_eq(load_op("TFOpLambda", "math.add", "[\"x\", 0, 0, {\"y\": [1.0, 2.0, 3.0]}]"), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Incompatible shapes"), "%s", ck_last_error());
    cr_expect_eq(load_op("SlicingOpLambda", "__operators__.getitem", "[\"x\", 0, 0, {\"slice_spec\": [0, 0, 0, 0]}]"),
                 CK_VALUE_ERROR);
    cr_expect_eq(load_op("SlicingOpLambda", "__operators__.getitem", "[\"x\", 0, 0, {\"slice_spec\": [0, 7]}]"),
                 CK_VALUE_ERROR);
    cr_expect_eq(load_op("TFOpLambda", "math.add", "[\"x\", 0, 0, {\"y\": 1.0}]"), CK_OK, "%s", ck_last_error());
    /* an eager call of a layer that never got its arguments */
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"tf.math.exp\", "
                                      "\"function\": \"math.exp\"}}", &l), CK_OK, "%s", ck_last_error());
    ck_shape s = CK_TEST_SHAPE(2, 3), o;
    cr_expect_eq(ck_layer_compute_output_shape(l, 1, &s, &o), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "tf.math.exp"), "%s", ck_last_error());
    ck_layer_free(l);
}

/* Slices the TF tests of strided_slice cover, on a (2, 5, 3) iota. */
Test(tf_op, slicing_edge_cases)
{
    struct {
        const char *spec;
        int rank;
        int64_t dims[5];
        double first, last;
    } cases[] = {
        {"[{\"start\": null, \"stop\": null, \"step\": -2}]", 3, {1, 5, 3}, 15, 29},
        {"[{\"start\": null, \"stop\": null, \"step\": null}, {\"start\": -2, \"stop\": null, \"step\": null}]", 3,
         {2, 2, 3}, 9, 29},
        {"[{\"start\": null, \"stop\": null, \"step\": null}, {\"start\": 4, \"stop\": 0, \"step\": -2}]", 3,
         {2, 2, 3}, 12, 23},
        {"[{\"start\": null, \"stop\": null, \"step\": null}, {\"start\": 10, \"stop\": -10, \"step\": -1}]", 3,
         {2, 5, 3}, 12, 17},
        {"[{\"class_name\": \"__ellipsis__\"}, 1]", 2, {2, 5}, 1, 28},
        {"[null, {\"class_name\": \"__ellipsis__\"}, null]", 5, {1, 2, 5, 3, 1}, 0, 29},
        {"[{\"start\": null, \"stop\": null, \"step\": null}, {\"start\": 3, \"stop\": 3, \"step\": null}]", 3,
         {2, 0, 3}, NAN, NAN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"class_name\": \"SlicingOpLambda\", \"config\": {\"name\": \"s\", \"function\": "
                 "\"__operators__.getitem\"}}");
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(text, &l), CK_OK);
        snprintf(text, sizeof text, "{\"slice_spec\": %s}", cases[i].spec);
        json_t *kw = json_loads(text, 0, NULL), *args = json_pack("{si}", "__ck_input__", 0);
        cr_assert_eq(l->cls->node_call(l, args, kw), CK_OK, "%s", ck_last_error());
        int64_t shape[3] = {2, 5, 3};
        double v[30];
        for (int k = 0; k < 30; k++) v[k] = k;
        ck_tensor *x = ck_test_f64(3, shape, v);
        /* the layer computes in the input's dtype */
        ck_tensor *y = NULL;
        cr_assert_eq(ck_layer_call(l, 1, &x, &y), CK_OK, "%s: %s", cases[i].spec, ck_last_error());
        cr_assert_eq(y->rank, cases[i].rank, "%s", cases[i].spec);
        for (int d = 0; d < y->rank; d++) cr_expect_eq(y->shape[d], cases[i].dims[d], "%s dim %d", cases[i].spec, d);
        if (y->size) {
            cr_expect_eq(ck_tensor_get(y, 0), cases[i].first, "%s", cases[i].spec);
            cr_expect_eq(ck_tensor_get(y, y->size - 1), cases[i].last, "%s", cases[i].spec);
        }
        if (y->size) cr_expect_gt(ck_test_gradcheck(l, 1, &x, 0, 1e-7), 0);
        ck_tensor_free(x);
        ck_tensor_free(y);
        json_decref(kw);
        json_decref(args);
        ck_layer_free(l);
    }
}

/* Planned predict of the TF-op model allocates nothing once planned (the
 * ops need no working memory). */
Test(tf_op, steady_state_predict_allocates_nothing)
{
    ck_tensor *x = ck_test_npy("tfop/model_x"), *want = ck_test_npy("tfop/model_y");
    ck_test_expect_steady_predict("layers/tfop/model.h5", 1, &x, 1, want, 3);
    ck_tensor_free(want);
    ck_tensor_free(x);
}

/* Loading a config with TF ops (constants, tensor kwargs, slices) and
 * writing it back fail cleanly at every allocation: CK_OUT_OF_MEMORY,
 * nothing leaked. */
Test(tf_op, every_allocation_failure_is_clean)
{
    static const char *const names[] = {"rsub_constant", "mul_constant_list", "matmul_transpose_b",
                                         "slice_newaxis_index", "concat_last"};
    json_t *all = goldens();
    ck_test_expect_config_allocation_sweeps(all, 5, names, 20);
    json_decref(all);
}

/* ck_tf_op builds from C the graphs tf.keras made from Python: same
 * predictions, same nodes in the config. */
static ck_tensor *op(const char *function, int n, ck_tensor *a, ck_tensor *b, const char *kwargs)
{
    ck_tensor *in[2] = {a, b}, *y = NULL;
    cr_assert_eq(ck_tf_op(function, n, in, kwargs, &y), CK_OK, "%s: %s", function, ck_last_error());
    return y;
}

Test(tf_op, c_api_builds_what_tf_keras_builds)
{
    static const char *const names[] = {"add_tensor", "concat", "slice_ranges", "matmul_transpose_b"};
    json_t *all = goldens();
    for (size_t k = 0; k < 4; k++) {
        ck_clear_session();
        ck_tensor *x = NULL, *y = NULL, *out = NULL;
        cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = CK_TEST_SHAPE(3, 4), .name = "in0"}), CK_OK);
        cr_assert_eq(ck_input(&y, &(ck_input_opts){.shape = CK_TEST_SHAPE(3, 4), .name = "in1"}), CK_OK);
        int n = 2;
        if (k == 0) out = op("math.add", 2, x, y, NULL);
        if (k == 1) out = op("concat", 2, x, y, "{\"axis\": 1}");
        if (k == 2) {
            out = op("__operators__.getitem", 1, x, NULL,
                     "{\"slice_spec\": [{\"start\": null, \"stop\": null, \"step\": null}, {\"start\": 1, \"stop\": "
                     "null, \"step\": null}, {\"start\": null, \"stop\": null, \"step\": 2}]}");
            n = 1;
        }
        if (k == 3) out = op("linalg.matmul", 2, x, y, "{\"transpose_b\": true}");
        ck_model *m = NULL;
        ck_tensor *ins[2] = {x, y};
        cr_assert_eq(ck_model_new(&m, n, ins, 1, &out, "case"), CK_OK, "%s", ck_last_error());
        ck_layer_free(ck_tensor_layer(out));
        ck_layer_free(ck_tensor_layer(x));
        ck_layer_free(ck_tensor_layer(y));
        size_t i;
        json_t *c;
        json_array_foreach(all, i, c) {
            if (strcmp(json_string_value(json_object_get(c, "name")), names[k]) != 0) continue;
            char *text = NULL;
            cr_assert_eq(ck_model_to_json(m, &text), CK_OK);
            json_t *got = json_loads(text, 0, NULL);
            expect_same_op_layers(names[k], got, json_object_get(c, "config"));
            json_decref(got);
            ck_free(text);
            const json_t *cx = json_object_get(c, "x");
            ck_tensor *xs[2] = {ck_test_golden_tensor(json_array_get(cx, 0), CK_FLOAT32),
                                n > 1 ? ck_test_golden_tensor(json_array_get(cx, 1), CK_FLOAT32) : NULL};
            ck_tensor *pred = NULL, *want = ck_test_golden_tensor(json_object_get(c, "y"), CK_FLOAT64);
            cr_assert_eq(ck_model_predict(m, n, xs, &pred, 0), CK_OK, "%s", ck_last_error());
            ck_test_expect_close(names[k], "c api y", -1, pred, want, 1e-5);
            char file[96];
            snprintf(file, sizeof file, "tfop_capi_%s.h5", names[k]);
            cr_expect_eq(ck_model_save(m, ck_test_tmp(file)), CK_OK, "%s", ck_last_error());
            ck_tensor_free(pred);
            ck_tensor_free(want);
            ck_tensor_free(xs[0]);
            ck_tensor_free(xs[1]);
        }
        ck_model_free(m);
    }
    json_decref(all);
    ck_tensor *x = NULL, *out = NULL;
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = CK_TEST_SHAPE(3)}), CK_OK);
    cr_expect_eq(ck_tf_op("math.bessel_i1", 1, &x, NULL, &out), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "math.bessel_i1"), "%s", ck_last_error());
    cr_expect_eq(ck_tf_op("math.add", 1, &x, "[1]", &out), CK_VALUE_ERROR);
    cr_expect_eq(ck_tf_op("math.add", 1, &x, "{\"y\": 1, \"bogus\": 2}", &out), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "bogus"), "%s", ck_last_error());
    ck_layer_free(ck_tensor_layer(x));
}
