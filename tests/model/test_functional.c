/* Functional models: the node history (keras-cases D17), graph order,
 * predict, shared layers, nested models, JSON round trips, summary. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

static ck_tensor *input(int64_t d, const char *name)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_input(&t, &(ck_input_opts){.shape = CK_TEST_SHAPE(d), .name = name}), CK_OK, "%s", ck_last_error());
    return t;
}

static ck_tensor *apply1(ck_layer *l, ck_tensor *x)
{
    ck_tensor *y = NULL;
    cr_assert_eq(ck_layer_apply(l, 1, &x, &y), CK_OK, "%s", ck_last_error());
    return y;
}

Test(functional, node_construction)
{
    ck_clear_session();
    ck_tensor *a = input(32, "input_a"), *b = input(32, "input_b");
    cr_expect_eq(a->rank, 2);
    cr_expect_eq(a->shape[0], -1);
    cr_expect_eq(a->shape[1], 32);
    cr_expect_null(a->data);
    ck_layer *ia = ck_tensor_layer(a);
    cr_expect_str_eq(ck_layer_name(ia), "input_a");
    cr_expect_eq(ck_layer_inbound_node_count(ia), 1);
    ck_tensor *const *t;
    int n;
    cr_assert_eq(ck_layer_get_input_at(ia, 0, &t, &n), CK_OK);
    cr_expect_eq(n, 1);
    cr_expect_eq(t[0], a);

    ck_layer *dense;
    cr_assert_eq(ck_dense(&dense, &(ck_dense_opts){.units = 16, .name = "dense_1"}), CK_OK);
    ck_shape s[2];
    cr_expect_eq(ck_layer_input_shape(dense, s, 2, &n), CK_ATTRIBUTE_ERROR);
    cr_expect(strstr(ck_last_error(), "no defined input shape") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_get_input_at(dense, 0, &t, &n), CK_RUNTIME_ERROR);
    ck_tensor *a2 = apply1(dense, a), *b2 = apply1(dense, b);
    cr_expect_eq(ck_layer_inbound_node_count(dense), 2);
    cr_expect_eq(ck_layer_outbound_node_count(dense), 0);
    cr_expect_eq(ck_layer_outbound_node_count(ia), 1);
    cr_assert_eq(ck_layer_get_input_at(dense, 0, &t, &n), CK_OK);
    cr_expect_eq(t[0], a);
    cr_assert_eq(ck_layer_get_input_at(dense, 1, &t, &n), CK_OK);
    cr_expect_eq(t[0], b);
    cr_assert_eq(ck_layer_get_output_at(dense, 0, &t, &n), CK_OK);
    cr_expect_eq(t[0], a2);
    cr_assert_eq(ck_layer_get_output_shape_at(dense, 1, s, 2, &n), CK_OK);
    cr_expect_eq(s[0].dims[0], -1);
    cr_expect_eq(s[0].dims[1], 16);
    cr_assert_eq(ck_layer_get_input_shape_at(dense, 0, s, 2, &n), CK_OK);
    cr_expect_eq(s[0].dims[1], 32);
    cr_expect_eq(ck_layer_get_input_mask_at(dense, 1, &n), CK_OK);
    cr_expect_eq(ck_layer_get_output_at(dense, 2, &t, &n), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "but the layer has only 2 inbound nodes") != NULL, "%s", ck_last_error());
    /* Both nodes have the same shapes: input_shape is defined. */
    cr_assert_eq(ck_layer_input_shape(dense, s, 2, &n), CK_OK);
    cr_expect_eq(s[0].dims[1], 32);
    cr_assert_eq(ck_layer_input(dense, &t, &n), CK_OK);
    cr_expect_eq(t[0], a, "tf.keras 2.x: node 0 even with several nodes");
    (void)b2;
    ck_layer_free(dense);
    ck_layer_free(ia);
    ck_layer_free(ck_tensor_layer(b));
}

Test(functional, different_shapes_make_input_shape_ill_defined)
{
    ck_tensor *a = input(4, NULL), *b = input(4, NULL);
    ck_tensor *c = NULL;
    cr_assert_eq(ck_input(&c, &(ck_input_opts){.shape = CK_TEST_SHAPE(3, 4)}), CK_OK);
    ck_layer *d;
    cr_assert_eq(ck_dense(&d, &(ck_dense_opts){.units = 2}), CK_OK);
    apply1(d, a);
    apply1(d, c);
    ck_shape s[2];
    int n;
    cr_expect_eq(ck_layer_input_shape(d, s, 2, &n), CK_ATTRIBUTE_ERROR);
    cr_expect_eq(ck_layer_output_shape(d, s, 2, &n), CK_ATTRIBUTE_ERROR);
    /* Eager calls make no node. */
    ck_layer *e;
    cr_assert_eq(ck_dense(&e, &(ck_dense_opts){.units = 3}), CK_OK);
    float v[10] = {0};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){10, 1}, v), *y = NULL;
    cr_assert_eq(ck_layer_call(e, 1, (ck_tensor *[]){x}, &y), CK_OK);
    cr_expect_eq(ck_layer_input_shape(e, s, 2, &n), CK_ATTRIBUTE_ERROR);
    cr_expect_eq(ck_layer_inbound_node_count(e), 0);
    /* A symbolic tensor through ck_layer_call is refused. */
    cr_expect_eq(ck_layer_call(e, 1, (ck_tensor *[]){b}, &y), CK_VALUE_ERROR);
    ck_tensor_free(x); ck_tensor_free(y);
    ck_layer_free(e); ck_layer_free(d);
    ck_layer_free(ck_tensor_layer(a)); ck_layer_free(ck_tensor_layer(b)); ck_layer_free(ck_tensor_layer(c));
}

/* The spec's reconstructed TF2.4-2.10 example (keras-spec.md 6.2):
 * Input(5) x2 -> Dense(4, relu) / Dense(4) -> Dot(1). */
static ck_model *spec_example(void)
{
    ck_clear_session();
    ck_tensor *a = input(5, NULL), *b = input(5, NULL), *h, *g, *o;
    ck_layer *d1, *d2, *dot;
    cr_assert_eq(ck_dense(&d1, &(ck_dense_opts){.units = 4, .activation = "relu"}), CK_OK);
    cr_assert_eq(ck_dense(&d2, &(ck_dense_opts){.units = 4}), CK_OK);
    cr_assert_eq(ck_dot(&dot, &(ck_dot_opts){.axes = ck_axes_one(1)}), CK_OK);
    h = apply1(d1, a);
    g = apply1(d2, b);
    cr_assert_eq(ck_layer_apply(dot, 2, (ck_tensor *[]){h, g}, &o), CK_OK, "%s", ck_last_error());
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 2, (ck_tensor *[]){a, b}, 1, &o, NULL), CK_OK, "%s", ck_last_error());
    ck_layer_free(d1); ck_layer_free(d2); ck_layer_free(dot);
    ck_layer_free(ck_tensor_layer(a)); ck_layer_free(ck_tensor_layer(b));
    return m;
}

Test(functional, to_json_matches_the_spec_example)
{
    ck_model *m = spec_example();
    char *json = NULL;
    cr_assert_eq(ck_model_to_json(m, &json), CK_OK, "%s", ck_last_error());
    const char *expected =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"model\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 5], \"dtype\": \"float32\", \"sparse\": false, \"ragged\": false, \"name\": \"input_1\"}, \"name\": \"input_1\", \"inbound_nodes\": []}, "
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 5], \"dtype\": \"float32\", \"sparse\": false, \"ragged\": false, \"name\": \"input_2\"}, \"name\": \"input_2\", \"inbound_nodes\": []}, "
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"trainable\": true, \"dtype\": \"float32\", \"units\": 4, \"activation\": \"relu\", \"use_bias\": true, "
        "\"kernel_initializer\": {\"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, "
        "\"kernel_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, \"kernel_constraint\": null, \"bias_constraint\": null}, "
        "\"name\": \"dense\", \"inbound_nodes\": [[[\"input_1\", 0, 0, {}]]]}, "
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"trainable\": true, \"dtype\": \"float32\", \"units\": 4, \"activation\": \"linear\", \"use_bias\": true, "
        "\"kernel_initializer\": {\"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, "
        "\"kernel_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, \"kernel_constraint\": null, \"bias_constraint\": null}, "
        "\"name\": \"dense_1\", \"inbound_nodes\": [[[\"input_2\", 0, 0, {}]]]}, "
        "{\"class_name\": \"Dot\", \"config\": {\"name\": \"dot\", \"trainable\": true, \"dtype\": \"float32\", \"axes\": 1, \"normalize\": false}, \"name\": \"dot\", "
        "\"inbound_nodes\": [[[\"dense\", 0, 0, {}], [\"dense_1\", 0, 0, {}]]]}], "
        "\"input_layers\": [[\"input_1\", 0, 0], [\"input_2\", 0, 0]], \"output_layers\": [[\"dot\", 0, 0]]}, "
        "\"keras_version\": \"2.15.0\", \"backend\": \"tensorflow\"}";
    cr_expect_str_eq(json, expected);
    ck_free(json);
    ck_model_free(m);
}

Test(functional, predict_matches_a_direct_computation_and_json_round_trip)
{
    ck_model *m = spec_example();
    float av[15], bv[15];
    for (int i = 0; i < 15; i++) av[i] = (float)sin(i + 1.0), bv[i] = (float)cos(i * 0.7);
    ck_tensor *A = ck_test_f32(2, (int64_t[]){3, 5}, av), *B = ck_test_f32(2, (int64_t[]){3, 5}, bv);
    ck_tensor *out = NULL;
    cr_assert_eq(ck_model_predict(m, 2, (ck_tensor *[]){A, B}, &out, 2), CK_OK, "%s", ck_last_error());
    cr_assert_eq(out->rank, 2);
    cr_expect_eq(out->shape[0], 3);
    cr_expect_eq(out->shape[1], 1);
    /* Direct: relu(a K1 + b1) . (b K2 + b2) per row. */
    ck_layer *d1, *d2;
    cr_assert_eq(ck_model_get_layer(m, "dense", &d1), CK_OK);
    cr_assert_eq(ck_model_get_layer(m, "dense_1", &d2), CK_OK);
    const float *k1 = ck_weight_value(ck_layer_weight(d1, 0))->data, *k2 = ck_weight_value(ck_layer_weight(d2, 0))->data;
    for (int r = 0; r < 3; r++) {
        double dot = 0;
        for (int u = 0; u < 4; u++) {
            double h = 0, g = 0;
            for (int k = 0; k < 5; k++) h += av[r * 5 + k] * k1[k * 4 + u], g += bv[r * 5 + k] * k2[k * 4 + u];
            dot += (h > 0 ? h : 0) * g;
        }
        cr_expect(fabs(((float *)out->data)[r] - dot) < 1e-5, "row %d: %g vs %g", r, ((float *)out->data)[r], dot);
    }
    /* JSON round trip with the weights copied gives the same numbers. */
    char *json = NULL;
    cr_assert_eq(ck_model_to_json(m, &json), CK_OK);
    ck_model *m2 = NULL;
    cr_assert_eq(ck_model_from_json(json, &m2), CK_OK, "%s", ck_last_error());
    ck_tensor **w;
    int nw;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(m), &w, &nw), CK_OK);
    cr_expect_eq(nw, 4);
    cr_assert_eq(ck_layer_set_weights(ck_model_layer(m2), nw, w), CK_OK, "%s", ck_last_error());
    ck_tensors_free(w, nw);
    ck_tensor *out2 = NULL;
    cr_assert_eq(ck_model_predict(m2, 2, (ck_tensor *[]){A, B}, &out2, 0), CK_OK);
    cr_expect_eq(ck_test_max_abs_diff(out, out2), 0.0);
    char *json2 = NULL;
    cr_assert_eq(ck_model_to_json(m2, &json2), CK_OK);
    cr_expect_str_eq(json2, json);
    ck_free(json); ck_free(json2);
    ck_tensor_free(out2); ck_tensor_free(out); ck_tensor_free(A); ck_tensor_free(B);
    ck_model_free(m2);
    ck_model_free(m);
}

Test(functional, repeated_predict_allocates_only_outputs)
{
    ck_model *m = spec_example();
    float av[10] = {0};
    ck_tensor *A = ck_test_f32(2, (int64_t[]){2, 5}, av), *out = NULL;
    ck_tensor *dst = NULL;
    cr_assert_eq(ck_tensor_new(&dst, CK_FLOAT32, 2, (int64_t[]){2, 1}), CK_OK);
    cr_assert_eq(ck_model_predict_into(m, 2, (ck_tensor *[]){A, A}, (ck_tensor *[]){dst}, 0), CK_OK);
    ck_test_fail_after(0); /* every allocation from now on fails */
    ck_status st = ck_model_predict_into(m, 2, (ck_tensor *[]){A, A}, (ck_tensor *[]){dst}, 0);
    long allocs = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(allocs, 0);
    (void)out;
    ck_tensor_free(dst); ck_tensor_free(A);
    ck_model_free(m);
}

Test(functional, shared_layer_and_layer_order)
{
    ck_clear_session();
    ck_tensor *a = input(3, "left"), *b = input(3, "right"), *o;
    ck_layer *shared, *add;
    cr_assert_eq(ck_dense(&shared, &(ck_dense_opts){.units = 2, .kernel_initializer = "ones"}), CK_OK);
    cr_assert_eq(ck_dot(&add, &(ck_dot_opts){.axes = ck_axes_one(1), .name = "join"}), CK_OK);
    ck_tensor *ha = apply1(shared, a), *hb = apply1(shared, b);
    cr_assert_eq(ck_layer_apply(add, 2, (ck_tensor *[]){ha, hb}, &o), CK_OK);
    ck_model *m;
    cr_assert_eq(ck_model_new(&m, 2, (ck_tensor *[]){a, b}, 1, &o, "siamese"), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_model_layer_count(m), 4);
    cr_expect_str_eq(ck_layer_name(ck_model_layer_at(m, 0)), "left");
    cr_expect_str_eq(ck_layer_name(ck_model_layer_at(m, 1)), "right");
    cr_expect_str_eq(ck_layer_name(ck_model_layer_at(m, 2)), "dense");
    cr_expect_str_eq(ck_layer_name(ck_model_layer_at(m, 3)), "join");
    float av[3] = {1, 2, 3}, bv[3] = {1, 0, -1};
    ck_tensor *A = ck_test_f32(2, (int64_t[]){1, 3}, av), *B = ck_test_f32(2, (int64_t[]){1, 3}, bv), *out;
    cr_assert_eq(ck_model_predict(m, 2, (ck_tensor *[]){A, B}, &out, 0), CK_OK);
    cr_expect_float_eq(((float *)out->data)[0], 2 * 6.0f * 0.0f, 1e-6);
    char *json;
    cr_assert_eq(ck_model_to_json(m, &json), CK_OK);
    cr_expect(strstr(json, "\"inbound_nodes\": [[[\"left\", 0, 0, {}]], [[\"right\", 0, 0, {}]]]") != NULL, "%s", json);
    cr_expect(strstr(json, "[[[\"dense\", 0, 0, {}], [\"dense\", 1, 0, {}]]]") != NULL, "%s", json);
    ck_free(json);
    int64_t total;
    cr_assert_eq(ck_model_count_params(m, &total, NULL, NULL), CK_OK);
    cr_expect_eq(total, 8);
    ck_tensor_free(A); ck_tensor_free(B); ck_tensor_free(out);
    ck_layer_free(shared); ck_layer_free(add);
    ck_layer_free(ck_tensor_layer(a)); ck_layer_free(ck_tensor_layer(b));
    ck_model_free(m);
}

Test(functional, nested_model_as_a_layer)
{
    ck_clear_session();
    ck_tensor *x = input(4, "base_input"), *h;
    ck_layer *d;
    cr_assert_eq(ck_dense(&d, &(ck_dense_opts){.units = 3, .kernel_initializer = "ones", .bias_initializer = "ones"}), CK_OK);
    h = apply1(d, x);
    ck_model *base;
    cr_assert_eq(ck_model_new(&base, 1, &x, 1, &h, "base"), CK_OK);
    ck_layer_free(d);
    ck_layer_free(ck_tensor_layer(x));
    ck_tensor *a = input(4, "input_a"), *b = input(4, "input_b"), *ea, *eb, *o;
    ea = apply1(ck_model_layer(base), a);
    eb = apply1(ck_model_layer(base), b);
    ck_layer *dot;
    cr_assert_eq(ck_dot(&dot, &(ck_dot_opts){.axes = ck_axes_one(1), .normalize = true, .name = "cos"}), CK_OK);
    cr_assert_eq(ck_layer_apply(dot, 2, (ck_tensor *[]){ea, eb}, &o), CK_OK);
    ck_model *outer;
    cr_assert_eq(ck_model_new(&outer, 2, (ck_tensor *[]){a, b}, 1, &o, "outer"), CK_OK, "%s", ck_last_error());
    char *json;
    cr_assert_eq(ck_model_to_json(outer, &json), CK_OK);
    cr_expect(strstr(json, "[[[\"base\", 1, 0, {}], [\"base\", 2, 0, {}]]]") != NULL, "nested nodes start at 1: %s", json);
    ck_model *back;
    cr_assert_eq(ck_model_from_json(json, &back), CK_OK, "%s", ck_last_error());
    int64_t n1, n2;
    ck_model_count_params(outer, &n1, NULL, NULL);
    ck_model_count_params(back, &n2, NULL, NULL);
    cr_expect_eq(n1, 15);
    cr_expect_eq(n2, 15);
    float av[8] = {1, 2, 3, 4, -1, 0, 0, 0}, bv[8] = {2, 4, 6, 8, 1, 1, 1, 1};
    ck_tensor *A = ck_test_f32(2, (int64_t[]){2, 4}, av), *B = ck_test_f32(2, (int64_t[]){2, 4}, bv), *out;
    cr_assert_eq(ck_model_predict(outer, 2, (ck_tensor *[]){A, B}, &out, 0), CK_OK, "%s", ck_last_error());
    /* Both embeddings are (s+1)*ones(3): cosine 1, except the zero vector
     * (sum -1 + 1 = 0) which gives 0. */
    cr_expect_float_eq(((float *)out->data)[0], 1.0f, 1e-6);
    cr_expect_float_eq(((float *)out->data)[1], 0.0f, 1e-6);
    ck_free(json);
    ck_tensor_free(A); ck_tensor_free(B); ck_tensor_free(out);
    ck_layer_free(dot);
    ck_layer_free(ck_tensor_layer(a)); ck_layer_free(ck_tensor_layer(b));
    ck_model_free(base);
    ck_model_free(outer);
    ck_model_free(back);
}

Test(functional, graph_errors)
{
    ck_clear_session();
    ck_tensor *a = input(3, NULL), *b = input(3, NULL), *h, *o;
    ck_layer *d;
    cr_assert_eq(ck_dense(&d, &(ck_dense_opts){.units = 2}), CK_OK);
    h = apply1(d, b);
    ck_model *m = (ck_model *)0x1;
    cr_expect_eq(ck_model_new(&m, 1, &a, 1, &h, NULL), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Graph disconnected") != NULL, "%s", ck_last_error());
    ck_layer *d2;
    cr_assert_eq(ck_dense(&d2, &(ck_dense_opts){.units = 2, .name = "dense"}), CK_OK);
    o = apply1(d2, h);
    cr_expect_eq(ck_model_new(&m, 1, &b, 1, &o, NULL), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "is used 2 times") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_model_new(&m, 1, &h, 1, &o, NULL), CK_VALUE_ERROR);
    cr_expect_eq(m, (ck_model *)0x1);
    cr_expect_eq(ck_model_from_json("{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"class_name\": \"MyCustomLayer\", \"config\": {}}]}}", &m),
                 CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "MyCustomLayer") != NULL);
    cr_expect_eq(ck_model_from_json("[1, 2", &m), CK_FORMAT_ERROR);
    ck_layer_free(d); ck_layer_free(d2);
    ck_layer_free(ck_tensor_layer(a)); ck_layer_free(ck_tensor_layer(b));
}

Test(functional, summary_table)
{
    ck_model *m = spec_example();
    char *text = NULL;
    cr_assert_eq(ck_model_summary(m, &text), CK_OK);
    const char *expected =
        "Model: \"model\"\n"
        "__________________________________________________________________________________________________\n"
        " Layer (type)                Output Shape                 Param #   Connected to                  \n"
        "==================================================================================================\n"
        " input_1 (InputLayer)        [(None, 5)]                  0         []                            \n"
        "                                                                                                  \n"
        " input_2 (InputLayer)        [(None, 5)]                  0         []                            \n"
        "                                                                                                  \n"
        " dense (Dense)               (None, 4)                    24        ['input_1[0][0]']             \n"
        "                                                                                                  \n"
        " dense_1 (Dense)             (None, 4)                    24        ['input_2[0][0]']             \n"
        "                                                                                                  \n"
        " dot (Dot)                   (None, 1)                    0         ['dense[0][0]',               \n"
        "                                                                     'dense_1[0][0]']             \n"
        "                                                                                                  \n"
        "==================================================================================================\n"
        "Total params: 48 (192.00 Byte)\n"
        "Trainable params: 48 (192.00 Byte)\n"
        "Non-trainable params: 0 (0.00 Byte)\n"
        "__________________________________________________________________________________________________\n";
    cr_expect_str_eq(text, expected);
    ck_free(text);
    ck_model_free(m);
}

Test(functional, sequential)
{
    ck_clear_session();
    ck_layer *l[2];
    cr_assert_eq(ck_dense(&l[0], &(ck_dense_opts){.units = 3, .activation = "relu", .input_shape = CK_TEST_SHAPE(4)}), CK_OK);
    cr_assert_eq(ck_dense(&l[1], &(ck_dense_opts){.units = 2, .activation = "softmax"}), CK_OK);
    ck_model *m;
    cr_assert_eq(ck_sequential(&m, 2, l, NULL, NULL), CK_OK, "%s", ck_last_error());
    cr_expect_str_eq(ck_model_name(m), "sequential");
    ck_layer_free(l[0]); ck_layer_free(l[1]);
    char *json;
    cr_assert_eq(ck_model_to_json(m, &json), CK_OK);
    cr_expect(strncmp(json, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": [{\"class_name\": \"InputLayer\"", 96) == 0, "%s", json);
    ck_model *back;
    cr_assert_eq(ck_model_from_json(json, &back), CK_OK, "%s", ck_last_error());
    int64_t n;
    ck_model_count_params(back, &n, NULL, NULL);
    cr_expect_eq(n, 15 + 8);
    char *text;
    cr_assert_eq(ck_model_summary(m, &text), CK_OK);
    cr_expect(strstr(text, " dense (Dense)               (None, 3)                 15        \n") != NULL, "%s", text);
    cr_expect(strstr(text, "InputLayer") == NULL, "%s", text);
    ck_free(text);
    ck_free(json);
    ck_model_free(m);
    ck_model_free(back);
}

/* keras-cases D1 and D16: default model names, and the trainable lists of
 * a model when it or one of its layers is frozen. */
Test(functional, default_names_and_trainable_weights)
{
    ck_clear_session();
    ck_tensor *x = input(2, NULL), *y;
    ck_layer *d;
    cr_assert_eq(ck_dense(&d, &(ck_dense_opts){.units = 1}), CK_OK);
    y = apply1(d, x);
    ck_model *m[3];
    for (int i = 0; i < 3; i++) cr_assert_eq(ck_model_new(&m[i], 1, &x, 1, &y, NULL), CK_OK);
    cr_expect_str_eq(ck_model_name(m[0]), "model");
    cr_expect_str_eq(ck_model_name(m[1]), "model_1");
    cr_expect_str_eq(ck_model_name(m[2]), "model_2");
    ck_layer *ml = ck_model_layer(m[0]);
    cr_expect_eq(ck_layer_trainable_weight_count(ml), 2);
    cr_expect_eq(ck_layer_non_trainable_weight_count(ml), 0);
    ck_layer_set_trainable(ml, 0);
    cr_expect_eq(ck_layer_trainable_weight_count(ml), 0);
    cr_expect_eq(ck_layer_non_trainable_weight_count(ml), 2);
    cr_expect(!ck_layer_trainable(d), "freezing a model freezes its layers");
    ck_layer_set_trainable(ml, 1);
    cr_expect_eq(ck_layer_trainable_weight_count(ml), 2);
    ck_layer_set_trainable(d, 0);
    cr_expect_eq(ck_layer_trainable_weight_count(ml), 0, "a frozen Dense inside a trainable model");
    cr_expect_eq(ck_layer_non_trainable_weight_count(ml), 2);
    int64_t t, nt;
    cr_assert_eq(ck_model_count_params(m[0], NULL, &t, &nt), CK_OK);
    cr_expect_eq(t, 0);
    cr_expect_eq(nt, 3);
    for (int i = 0; i < 3; i++) ck_model_free(m[i]);
    ck_layer_free(d);
    ck_layer_free(ck_tensor_layer(x));
}

/* Values whose lifetimes do not overlap share memory: a chain of layers
 * needs two blocks whatever its length, and gives the same numbers as the
 * layers called one by one. */
#include "model/model.h"

Test(functional, planned_buffers_are_reused)
{
    ck_clear_session();
    ck_tensor *x = input(8, NULL), *h = x;
    ck_layer *l[6];
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(ck_dense(&l[i], &(ck_dense_opts){.units = 8, .activation = "tanh"}), CK_OK);
        h = apply1(l[i], h);
    }
    ck_model *m;
    cr_assert_eq(ck_model_new(&m, 1, &x, 1, &h, NULL), CK_OK);
    float v[3 * 8];
    for (int i = 0; i < 24; i++) v[i] = (float)((i * 13) % 7) - 3.0f;
    ck_tensor *in = ck_test_f32(2, (int64_t[]){3, 8}, v), *out = NULL, *cur = NULL, *next = NULL;
    cr_assert_eq(ck_model_predict(m, 1, (ck_tensor *[]){in}, &out, 0), CK_OK);
    cr_expect_eq(m->predictor->plans[0].n_blocks + m->predictor->plans[1].n_blocks, 2);
    cr_assert_eq(ck_tensor_copy(&cur, in), CK_OK);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(ck_layer_call(l[i], 1, (ck_tensor *[]){cur}, &next), CK_OK);
        ck_tensor_free(cur);
        cur = next;
    }
    cr_expect_eq(ck_test_max_abs_diff(out, cur), 0.0);
    ck_tensor_free(cur); ck_tensor_free(out); ck_tensor_free(in);
    for (int i = 0; i < 6; i++) ck_layer_free(l[i]);
    ck_layer_free(ck_tensor_layer(x));
    ck_model_free(m);
}
