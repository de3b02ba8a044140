/* Zero allocations in steady state for EVERY layer class of the registry
 * (issue 10, item 4): each class is made from a representative config
 * (the table below), called in a functional model on inputs of the
 * table's shapes, planned with one predict_into, and run again with an
 * allocator that fails every request.  The sweep enumerates the registry
 * (ck_layer_class_at), so a class added later without a table entry fails
 * the test with a message saying to add it.  Also: integer and float64
 * Inputs cast by the float32 layers that consume them, masks, and models
 * nested two deep.  (ck_model_predict_into takes inputs of the Inputs'
 * own dtypes; ck_model_predict, which converts others, allocates its
 * outputs anyway.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "model/model.h"
#include "support/support.h"
#include "../layers/custom_impls.h"

/* One class: its inner config, and its inputs as "d,d;d,d" (one shape per
 * input, batch excluded; a leading "i" makes an int32 input); or, for the
 * classes made only from a node's call arguments, a whole model config.
 * Lambda calls "normalize" of tests/layers/custom_impls.h, registered by
 * the sweep. */
typedef struct sweep_case {
    const char *class_name;
    const char *config;
    const char *inputs;
    const char *model_json; /* when set: the whole model (for layers made only from a node's call
                               arguments: TFOpLambda, SlicingOpLambda); config and inputs unused */
} sweep_case;

#define INNER_DENSE "{\"class_name\": \"Dense\", \"config\": {\"name\": \"inner_dense\", \"units\": 3}}"

static const sweep_case CASES[] = {
    {"Dense", "{\"units\": 3, \"activation\": \"relu\"}", "5", NULL},
    {"Dot", "{\"axes\": [1, 1], \"normalize\": true}", "4;4", NULL},
    {"Flatten", "{}", "2,3", NULL},
    {"Reshape", "{\"target_shape\": [3, 2]}", "6", NULL},
    {"Dropout", "{\"rate\": 0.5}", "4", NULL},
    {"AlphaDropout", "{\"rate\": 0.5}", "4", NULL},
    {"Activation", "{\"activation\": \"tanh\"}", "4", NULL},
    {"Embedding", "{\"input_dim\": 10, \"output_dim\": 3}", "i4", NULL},
    {"Concatenate", "{\"axis\": -1}", "3;2", NULL},
    {"Add", "{}", "4;4", NULL},
    {"Subtract", "{}", "4;4", NULL},
    {"Multiply", "{}", "4;4", NULL},
    {"Average", "{}", "4;4", NULL},
    {"Maximum", "{}", "4;4", NULL},
    {"Minimum", "{}", "4;4", NULL},
    {"BatchNormalization", "{}", "3,4", NULL},
    {"Normalization", "{\"axis\": -1, \"mean\": [0.5], \"variance\": [2.0]}", "3,4", NULL},
    {"ReLU", "{\"max_value\": 6.0}", "4", NULL},
    {"LeakyReLU", "{\"alpha\": 0.2}", "4", NULL},
    {"ELU", "{\"alpha\": 1.0}", "4", NULL},
    {"ThresholdedReLU", "{\"theta\": 0.1}", "4", NULL},
    {"Softmax", "{\"axis\": -1}", "3,4", NULL},
    {"Merge", "{\"mode\": \"concat\", \"concat_axis\": -1}", "3;2", NULL},
    {"InputLayer", NULL, "4", NULL}, /* the model's own Input: a model from an input to itself */
    {"Conv2D", "{\"filters\": 2, \"kernel_size\": [3, 3], \"padding\": \"same\"}", "5,5,2", NULL},
    {"Convolution2D", "{\"nb_filter\": 2, \"nb_row\": 3, \"nb_col\": 3}", "5,5,2", NULL},
    {"MaxPooling2D", "{\"pool_size\": [2, 2]}", "4,4,2", NULL},
    {"MaxPooling1D", "{\"pool_size\": 2}", "4,2", NULL},
    {"AveragePooling1D", "{\"pool_size\": 2}", "4,2", NULL},
    {"AveragePooling2D", "{\"pool_size\": [2, 2]}", "4,4,2", NULL},
    {"MaxPooling3D", "{\"pool_size\": [2, 2, 2]}", "4,4,4,2", NULL},
    {"AveragePooling3D", "{\"pool_size\": [2, 2, 2]}", "4,4,4,2", NULL},
    {"GlobalAveragePooling1D", "{}", "4,2", NULL},
    {"GlobalAveragePooling2D", "{}", "4,4,2", NULL},
    {"GlobalAveragePooling3D", "{}", "2,2,2,2", NULL},
    {"GlobalMaxPooling1D", "{}", "4,2", NULL},
    {"GlobalMaxPooling2D", "{}", "4,4,2", NULL},
    {"GlobalMaxPooling3D", "{}", "2,2,2,2", NULL},
    {"UpSampling1D", "{\"size\": 2}", "3,2", NULL},
    {"UpSampling2D", "{\"size\": [2, 2], \"interpolation\": \"bilinear\"}", "2,2,2", NULL},
    {"UpSampling3D", "{\"size\": [2, 2, 2]}", "2,2,2,1", NULL},
    {"ZeroPadding1D", "{\"padding\": 1}", "3,2", NULL},
    {"ZeroPadding2D", "{\"padding\": [[1, 1], [1, 1]]}", "3,3,2", NULL},
    {"ZeroPadding3D", "{\"padding\": [[1, 1], [1, 1], [1, 1]]}", "2,2,2,1", NULL},
    {"Cropping1D", "{\"cropping\": [1, 1]}", "4,2", NULL},
    {"Cropping2D", "{\"cropping\": [[1, 1], [1, 1]]}", "4,4,2", NULL},
    {"Cropping3D", "{\"cropping\": [[1, 1], [1, 1], [1, 1]]}", "4,4,4,1", NULL},
    {"RepeatVector", "{\"n\": 3}", "4", NULL},
    {"Permute", "{\"dims\": [2, 1]}", "3,4", NULL},
    {"LayerNormalization", "{\"axis\": [-1]}", "3,4", NULL},
    {"SimpleRNN", "{\"units\": 3}", "4,2", NULL},
    {"LSTM", "{\"units\": 3, \"return_sequences\": true}", "4,2", NULL},
    {"GRU", "{\"units\": 3, \"reset_after\": true}", "4,2", NULL},
    {"Conv1D", "{\"filters\": 2, \"kernel_size\": [3], \"strides\": [1], \"padding\": \"same\"}", "6,2", NULL},
    {"Conv3D", "{\"filters\": 2, \"kernel_size\": [2, 2, 2]}", "3,3,3,2", NULL},
    {"Conv1DTranspose", "{\"filters\": 2, \"kernel_size\": [3], \"strides\": [2], "
     "\"padding\": \"valid\"}", "4,2", NULL},
    {"Conv2DTranspose", "{\"filters\": 2, \"kernel_size\": [3, 3], \"strides\": [2, 2], "
     "\"padding\": \"same\"}", "3,3,2", NULL},
    {"Conv3DTranspose", "{\"filters\": 2, \"kernel_size\": [2, 2, 2], \"strides\": [2, 2, 2]}", "2,2,2,2", NULL},
    {"DepthwiseConv1D", "{\"kernel_size\": [3], \"depth_multiplier\": 2}", "5,2", NULL},
    {"DepthwiseConv2D", "{\"kernel_size\": [3, 3], \"depth_multiplier\": 2, \"padding\": \"same\"}", "4,4,2", NULL},
    {"SeparableConv1D", "{\"filters\": 3, \"kernel_size\": [3], \"depth_multiplier\": 1}", "5,2", NULL},
    {"SeparableConv2D", "{\"filters\": 3, \"kernel_size\": [3, 3], \"depth_multiplier\": 2}", "4,4,2", NULL},
    {"Convolution1D", "{\"nb_filter\": 2, \"filter_length\": 3, \"border_mode\": \"same\"}", "5,2", NULL},
    {"AtrousConvolution1D", "{\"nb_filter\": 2, \"filter_length\": 2, \"atrous_rate\": 2}", "6,2", NULL},
    {"AtrousConvolution2D", "{\"nb_filter\": 2, \"nb_row\": 3, \"nb_col\": 3, \"atrous_rate\": [2, 2], "
     "\"border_mode\": \"valid\", \"dim_ordering\": \"tf\"}", "6,6,2", NULL},
    {"Deconvolution2D", "{\"nb_filter\": 2, \"nb_row\": 3, \"nb_col\": 3, \"output_shape\": [null, 8, 8, 2], "
     "\"border_mode\": \"same\", \"subsample\": [2, 2], \"dim_ordering\": \"tf\"}", "4,4,2", NULL},
    {"SeparableConvolution2D", "{\"nb_filter\": 3, \"nb_row\": 2, \"nb_col\": 2, \"depth_multiplier\": 2, "
     "\"dim_ordering\": \"tf\"}", "4,4,2", NULL},
    {"Convolution3D", "{\"nb_filter\": 2, \"kernel_dim1\": 2, \"kernel_dim2\": 2, \"kernel_dim3\": 2, "
     "\"dim_ordering\": \"tf\"}", "3,3,3,2", NULL},
    {"Bidirectional", "{\"merge_mode\": \"concat\", \"layer\": {\"class_name\": \"LSTM\", "
     "\"config\": {\"units\": 2, \"return_sequences\": true}}}", "4,3", NULL},
    {"TimeDistributed", "{\"layer\": {\"class_name\": \"Dense\", \"config\": {\"units\": 2}}}", "3,4", NULL},
    {"RNN", "{\"return_sequences\": true, \"cell\": [{\"class_name\": \"GRUCell\", "
     "\"config\": {\"units\": 2}}, {\"class_name\": \"SimpleRNNCell\", \"config\": {\"units\": 3}}]}", "4,3", NULL},
    {"CuDNNLSTM", "{\"units\": 2, \"return_sequences\": true}", "4,3", NULL},
    {"CuDNNGRU", "{\"units\": 2}", "4,3", NULL},
    {"ConvLSTM1D", "{\"filters\": 2, \"kernel_size\": [2], \"padding\": \"same\", "
     "\"return_sequences\": true}", "3,4,2", NULL},
    {"ConvLSTM2D", "{\"filters\": 2, \"kernel_size\": [2, 2]}", "3,3,3,2", NULL},
    {"ConvLSTM3D", "{\"filters\": 2, \"kernel_size\": [2, 2, 2]}", "2,3,3,3,1", NULL},
    {"MultiHeadAttention", "{\"num_heads\": 2, \"key_dim\": 2}", "3,4;2,4", NULL},
    {"Attention", "{\"use_scale\": false, \"score_mode\": \"dot\"}", "3,4;2,4", NULL},
    {"AdditiveAttention", "{\"use_scale\": true}", "3,4;2,4", NULL},
    {"GroupNormalization", "{\"groups\": 2, \"axis\": -1}", "3,4", NULL},
    {"UnitNormalization", "{\"axis\": [-1]}", "3,4", NULL},
    {"GaussianNoise", "{\"stddev\": 0.1}", "4", NULL},
    {"GaussianDropout", "{\"rate\": 0.3}", "4", NULL},
    {"SpatialDropout1D", "{\"rate\": 0.5}", "3,2", NULL},
    {"SpatialDropout2D", "{\"rate\": 0.5}", "3,3,2", NULL},
    {"SpatialDropout3D", "{\"rate\": 0.5}", "2,2,2,2", NULL},
    {"ActivityRegularization", "{\"l1\": 0.01, \"l2\": 0.0}", "4", NULL},
    {"Masking", "{\"mask_value\": 0.0}", "3,4", NULL},
    {"Lambda", "{\"name\": \"n\", \"function\": \"normalize\", \"function_type\": \"function\", "
     "\"module\": \"__main__\", \"output_shape\": null, \"output_shape_type\": \"raw\", "
     "\"output_shape_module\": null, \"arguments\": {}}", "3,4", NULL},
    {"TFOpLambda", NULL, NULL, "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", "
     "\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3, 4], "
     "\"dtype\": \"float32\", \"name\": \"x\"}, \"name\": \"x\", "
     "\"inbound_nodes\": []}, {\"class_name\": \"TFOpLambda\", \"config\": {\"name\": \"op\", "
     "\"trainable\": true, \"dtype\": \"float32\", \"function\": \"math.reduce_sum\"}, \"name\": \"op\", "
     "\"inbound_nodes\": [[\"x\", 0, 0, {\"axis\": 1}]]}], \"input_layers\": [[\"x\", 0, 0]], "
     "\"output_layers\": [[\"op\", 0, 0]]}}"},
    {"SlicingOpLambda", NULL, NULL, "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", "
     "\"layers\": [{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3, 4], "
     "\"dtype\": \"float32\", \"name\": \"x\"}, \"name\": \"x\", "
     "\"inbound_nodes\": []}, {\"class_name\": \"SlicingOpLambda\", \"config\": {\"name\": \"op\", "
     "\"trainable\": true, \"dtype\": \"float32\", \"function\": \"__operators__.getitem\"}, "
     "\"name\": \"op\", \"inbound_nodes\": [[\"x\", 0, 0, {\"slice_spec\": [{\"start\": null, \"stop\": null, "
     "\"step\": null}, {\"start\": 1, \"stop\": null, \"step\": null}]}]]}], "
     "\"input_layers\": [[\"x\", 0, 0]], \"output_layers\": [[\"op\", 0, 0]]}}"},
    {"Functional", "{\"name\": \"inner_f\", \"layers\": [{\"class_name\": \"InputLayer\", \"config\": "
                   "{\"batch_input_shape\": [null, 4], \"name\": \"inner_in\"}, \"name\": \"inner_in\", "
                   "\"inbound_nodes\": []}, {\"class_name\": \"Dense\", \"config\": {\"name\": \"inner_dense\", "
                   "\"units\": 3}, \"name\": \"inner_dense\", \"inbound_nodes\": [[[\"inner_in\", 0, 0, {}]]]}], "
                   "\"input_layers\": [[\"inner_in\", 0, 0]], \"output_layers\": [[\"inner_dense\", 0, 0]]}",
     "4", NULL},
    {"Sequential", "{\"name\": \"inner_s\", \"layers\": [{\"class_name\": \"InputLayer\", \"config\": "
                   "{\"batch_input_shape\": [null, 4], \"name\": \"inner_in\"}}, " INNER_DENSE "]}",
     "4", NULL},
};

static const sweep_case *case_of(const char *class_name)
{
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++)
        if (strcmp(CASES[i].class_name, class_name) == 0) return &CASES[i];
    return NULL;
}

/* Parses "d,d;d" into symbolic inputs. */
static int make_inputs(const char *spec, ck_tensor **in)
{
    int n = 0;
    const char *p = spec;
    while (*p) {
        ck_input_opts o = {0};
        if (*p == 'i') {
            o.dtype = CK_INT32;
            p++;
        }
        while (*p && *p != ';') {
            o.shape.dims[o.shape.rank++] = strtol(p, (char **)&p, 10);
            if (*p == ',') p++;
        }
        if (*p == ';') p++;
        cr_assert_eq(ck_input(&in[n], &o), CK_OK, "%s: %s", spec, ck_last_error());
        n++;
    }
    return n;
}

/* Concrete inputs for the model's inputs: batch 5, small varied values
 * (valid indices for integer inputs), in `dtype` when it is not 0. */
static void concrete_inputs(ck_model *m, ck_tensor **x, ck_dtype dtype)
{
    for (int i = 0; i < ck_model_input_count(m); i++) {
        const ck_tensor *s = ck_model_input(m, i);
        int64_t shape[CK_MAX_RANK];
        for (int d = 0; d < s->rank; d++) shape[d] = d == 0 ? 5 : s->shape[d] < 0 ? 4 : s->shape[d];
        ck_dtype dt = dtype ? dtype : s->dtype;
        cr_assert_eq(ck_tensor_new(&x[i], dt, s->rank, shape), CK_OK);
        for (int64_t k = 0; k < x[i]->size; k++) {
            double v = (double)((k * 7 + i) % 5) / 5.0 - 0.3;
            if (dt == CK_FLOAT32) ((float *)x[i]->data)[k] = (float)v;
            else if (dt == CK_FLOAT64) ((double *)x[i]->data)[k] = v;
            else if (dt == CK_INT32) ((int32_t *)x[i]->data)[k] = (int32_t)(k % 4);
            else ((int64_t *)x[i]->data)[k] = k % 4;
        }
    }
}

/* Plans with predict + predict_into (batch 2: full batches and a
 * remainder), then runs predict_into with every allocation failing:
 * nothing may be asked for, and the outputs must be the same. */
static void check_steady_state(ck_model *m, const char *what, ck_dtype input_dtype)
{
    ck_tensor *x[8] = {NULL}, *y[8] = {NULL}, *again[8] = {NULL};
    int n = ck_model_input_count(m), no = ck_model_output_count(m);
    cr_assert(n <= 8 && no <= 8);
    concrete_inputs(m, x, input_dtype);
    cr_assert_eq(ck_model_predict(m, n, x, y, 2), CK_OK, "%s: %s", what, ck_last_error());
    for (int i = 0; i < no; i++) {
        cr_assert_eq(ck_tensor_new(&again[i], y[i]->dtype, y[i]->rank, y[i]->shape), CK_OK);
    }
    cr_assert_eq(ck_model_predict_into(m, n, x, again, 2), CK_OK, "%s: %s", what, ck_last_error());
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, n, x, again, 2);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s: predict_into after planning failed: %s", what, ck_last_error());
    cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", what, attempts);
    for (int i = 0; i < no; i++) {
        cr_expect_eq(ck_test_max_abs_diff(y[i], again[i]), 0.0, "%s: output %d changed", what, i);
        ck_tensor_free(y[i]);
        ck_tensor_free(again[i]);
    }
    for (int i = 0; i < n; i++) ck_tensor_free(x[i]);
}

/* A model calling the case's layer once on its inputs. */
static ck_model *model_of(const sweep_case *c, ck_layer **layer_out)
{
    if (c->model_json) {
        ck_model *m = NULL;
        cr_assert_eq(ck_model_from_json(c->model_json, &m), CK_OK, "%s: %s", c->class_name, ck_last_error());
        *layer_out = NULL;
        return m;
    }
    ck_tensor *in[8] = {NULL};
    int n = make_inputs(c->inputs, in);
    ck_tensor *out = in[0];
    ck_layer *layer = NULL;
    if (c->config) {
        char json[4096];
        snprintf(json, sizeof json, "{\"class_name\": \"%s\", \"config\": %s}", c->class_name, c->config);
        cr_assert_eq(ck_layer_from_config(json, &layer), CK_OK, "%s: %s", c->class_name, ck_last_error());
        cr_assert_eq(ck_layer_apply(layer, n, in, &out), CK_OK, "%s: %s", c->class_name, ck_last_error());
    }
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, n, in, 1, &out, NULL), CK_OK, "%s: %s", c->class_name, ck_last_error());
    for (int i = 0; i < n; i++) ck_layer_free(ck_tensor_layer(in[i]));
    *layer_out = layer;
    return m;
}

Test(zero_alloc_sweep, every_registered_class)
{
    /* Lambda's case calls the user function "normalize" of custom_impls.h */
    (void)affine_impl, (void)scaled_dense_impl;
    ck_custom_registry_reset();
    cr_assert_eq(ck_register_lambda("normalize", &normalize_impl), CK_OK, "%s", ck_last_error());
    int classes = 0;
    for (int i = 0; ck_layer_class_at(i); i++) {
        const char *name = ck_layer_class_at(i)->class_name;
        const sweep_case *c = case_of(name);
        cr_expect(c, "layer class %s has no entry in CASES of %s: add a representative config and input "
                  "shapes for it", name, __FILE__);
        if (!c) continue;
        ck_layer *layer = NULL;
        ck_model *m = model_of(c, &layer);
        check_steady_state(m, name, 0);
        ck_model_free(m);
        ck_layer_free(layer);
        classes++;
    }
    cr_expect_geq(classes, 93, "only %d classes swept", classes);
}

/* An int32 Input is cast by the Dense that consumes it, and a float64
 * Input by a float32 layer: the casts live in the planned scratch. */
Test(zero_alloc_sweep, inputs_cast_inside_the_model)
{
    static const sweep_case cases[] = {
        {"Dense", "{\"units\": 3}", "i4", NULL},
        {"Dot", "{\"axes\": [1, 1], \"normalize\": true}", "4;4", NULL},
    };
    ck_layer *layer = NULL;
    ck_model *m = model_of(&cases[0], &layer);
    cr_assert_eq(ck_model_input(m, 0)->dtype, CK_INT32);
    check_steady_state(m, "int32 Input into Dense", 0);
    ck_model_free(m);
    ck_layer_free(layer);
    /* float64 Inputs into a float32 Dot */
    ck_tensor *in[2] = {NULL}, *out = NULL;
    for (int i = 0; i < 2; i++)
        cr_assert_eq(ck_input(&in[i], &(ck_input_opts){.shape = CK_TEST_SHAPE(4), .dtype = CK_FLOAT64}), CK_OK);
    char json[256];
    snprintf(json, sizeof json, "{\"class_name\": \"Dot\", \"config\": %s}", cases[1].config);
    cr_assert_eq(ck_layer_from_config(json, &layer), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(layer, 2, in, &out), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_new(&m, 2, in, 1, &out, NULL), CK_OK, "%s", ck_last_error());
    check_steady_state(m, "float64 Inputs into a float32 Dot", 0);
    ck_model_free(m);
    ck_layer_free(layer);
    for (int i = 0; i < 2; i++) ck_layer_free(ck_tensor_layer(in[i]));
}

/* Embedding(mask_zero) feeding a recurrent layer: the mask is computed
 * and used while predicting.  (Masks made by a Masking layer and carried
 * through wrappers and attention: masking_through_wrappers_and_attention.) */
Test(zero_alloc_sweep, masks)
{
    ck_tensor *in = NULL, *h = NULL, *y = NULL;
    ck_layer *emb = NULL, *rnn = NULL;
    cr_assert_eq(ck_input(&in, &(ck_input_opts){.shape = CK_TEST_SHAPE(4), .dtype = CK_INT32}), CK_OK);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Embedding\", \"config\": {\"input_dim\": 10, "
                                      "\"output_dim\": 3, \"mask_zero\": true}}", &emb), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"LSTM\", \"config\": {\"units\": 2}}", &rnn), CK_OK);
    cr_assert_eq(ck_layer_apply(emb, 1, &in, &h), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(rnn, 1, &h, &y), CK_OK, "%s", ck_last_error());
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &y, NULL), CK_OK, "%s", ck_last_error());
    check_steady_state(m, "Embedding(mask_zero) -> LSTM", 0);
    ck_model_free(m);
    ck_layer_free(emb);
    ck_layer_free(rnn);
    ck_layer_free(ck_tensor_layer(in));
}

/* A Masking layer's mask carried through the wrappers, cells and
 * attention that use it: each chain is Input(4, 3) -> Masking -> the
 * layers in turn (a layer marked "2:" called on [h, h]). */
Test(zero_alloc_sweep, masking_through_wrappers_and_attention)
{
    static const char *const chains[][4] = {
        {"{\"class_name\": \"Bidirectional\", \"config\": {\"merge_mode\": \"sum\", \"layer\": "
         "{\"class_name\": \"GRU\", \"config\": {\"units\": 2, \"return_sequences\": true}}}}",
         "{\"class_name\": \"TimeDistributed\", \"config\": {\"layer\": {\"class_name\": \"Dense\", "
         "\"config\": {\"units\": 3}}}}",
         "{\"class_name\": \"LSTM\", \"config\": {\"units\": 2}}", NULL},
        {"{\"class_name\": \"RNN\", \"config\": {\"return_sequences\": true, \"cell\": {\"class_name\": "
         "\"LSTMCell\", \"config\": {\"units\": 3}}}}",
         "2:{\"class_name\": \"MultiHeadAttention\", \"config\": {\"num_heads\": 2, \"key_dim\": 2}}",
         "2:{\"class_name\": \"Attention\", \"config\": {\"use_scale\": false, \"score_mode\": \"dot\"}}",
         NULL},
        {"2:{\"class_name\": \"AdditiveAttention\", \"config\": {\"use_scale\": true}}",
         "{\"class_name\": \"CuDNNGRU\", \"config\": {\"units\": 2}}", NULL, NULL},
        /* Concatenate's combined mask (time axis), a Bidirectional passing
         * it on (its inner layers skip masked steps, go_backwards). */
        {"2:{\"class_name\": \"Concatenate\", \"config\": {\"axis\": 1}}",
         "{\"class_name\": \"Bidirectional\", \"config\": {\"layer\": {\"class_name\": \"LSTM\", "
         "\"config\": {\"units\": 2, \"return_sequences\": true, \"go_backwards\": true}}}}",
         "2:{\"class_name\": \"Concatenate\", \"config\": {}}", "{\"class_name\": \"GRU\", \"config\": {\"units\": 2}}"},
    };
    for (size_t c = 0; c < sizeof chains / sizeof *chains; c++) {
        ck_layer *layers[5] = {NULL};
        ck_tensor *in = NULL, *h = NULL;
        cr_assert_eq(ck_input(&in, &(ck_input_opts){.shape = CK_TEST_SHAPE(4, 3)}), CK_OK);
        cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Masking\", \"config\": {\"mask_value\": 0.1}}",
                                          &layers[0]), CK_OK, "%s", ck_last_error());
        cr_assert_eq(ck_layer_apply(layers[0], 1, &in, &h), CK_OK, "%s", ck_last_error());
        int n = 1;
        for (int k = 0; k < 4 && chains[c][k]; k++, n++) {
            const char *text = chains[c][k];
            int pair = strncmp(text, "2:", 2) == 0;
            cr_assert_eq(ck_layer_from_config(text + (pair ? 2 : 0), &layers[n]), CK_OK, "%s: %s", text,
                         ck_last_error());
            ck_tensor *next = NULL;
            cr_assert_eq(ck_layer_apply(layers[n], pair ? 2 : 1, (ck_tensor *[]){h, h}, &next), CK_OK, "%s: %s",
                         text, ck_last_error());
            h = next;
        }
        ck_model *m = NULL;
        cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK, "%s", ck_last_error());
        char what[64];
        snprintf(what, sizeof what, "Masking chain %zu", c);
        check_steady_state(m, what, 0);
        ck_model_free(m);
        for (int k = 0; k < n; k++) ck_layer_free(layers[k]);
        ck_layer_free(ck_tensor_layer(in));
    }
}

/* A mask fed into a nested Sequential (LSTM(return_sequences) -> Dense)
 * reaches its LSTM and comes out with its output, then a Concatenate
 * with the masked input combines the two. */
Test(zero_alloc_sweep, mask_into_nested_model)
{
    ck_tensor *sin = NULL, *s1 = NULL, *s2 = NULL;
    ck_layer *lstm = NULL, *dense = NULL;
    cr_assert_eq(ck_input(&sin, &(ck_input_opts){.shape = CK_TEST_SHAPE(4, 3)}), CK_OK);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"LSTM\", \"config\": {\"units\": 2, "
                                      "\"return_sequences\": true}}", &lstm), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Dense\", \"config\": {\"units\": 3}}", &dense), CK_OK);
    cr_assert_eq(ck_layer_apply(lstm, 1, &sin, &s1), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(dense, 1, &s1, &s2), CK_OK, "%s", ck_last_error());
    ck_model *inner = NULL;
    cr_assert_eq(ck_model_new(&inner, 1, &sin, 1, &s2, "inner"), CK_OK, "%s", ck_last_error());
    ck_tensor *in = NULL, *h = NULL, *y = NULL, *c = NULL, *out = NULL;
    ck_layer *masking = NULL, *concat = NULL, *gru = NULL;
    cr_assert_eq(ck_input(&in, &(ck_input_opts){.shape = CK_TEST_SHAPE(4, 3)}), CK_OK);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Masking\", \"config\": {\"mask_value\": 0.1}}",
                                      &masking), CK_OK);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Concatenate\", \"config\": {}}", &concat), CK_OK);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"GRU\", \"config\": {\"units\": 2}}", &gru), CK_OK);
    cr_assert_eq(ck_layer_apply(masking, 1, &in, &h), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(ck_model_layer(inner), 1, &h, &y), CK_OK, "%s", ck_last_error());
    cr_expect(ck_symbolic_mask(y) == ck_symbolic_mask(h), "the nested model passes its input's mask out");
    cr_assert_eq(ck_layer_apply(concat, 2, (ck_tensor *[]){y, h}, &c), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(gru, 1, &c, &out), CK_OK, "%s", ck_last_error());
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &out, NULL), CK_OK, "%s", ck_last_error());
    check_steady_state(m, "mask into a nested model", 0);
    ck_model_free(m);
    ck_model_free(inner);
    ck_layer_free(lstm);
    ck_layer_free(dense);
    ck_layer_free(masking);
    ck_layer_free(concat);
    ck_layer_free(gru);
    ck_layer_free(ck_tensor_layer(in));
    ck_layer_free(ck_tensor_layer(sin));
}

/* Functional( Sequential( Functional(Dense) ) ), called twice at the top. */
Test(zero_alloc_sweep, models_nested_two_deep)
{
    const sweep_case *inner_case = case_of("Functional");
    ck_layer *inner = NULL;
    char json[4096];
    snprintf(json, sizeof json, "{\"class_name\": \"Functional\", \"config\": %s}", inner_case->config);
    cr_assert_eq(ck_layer_from_config(json, &inner), CK_OK, "%s", ck_last_error());
    ck_tensor *mid_in = NULL, *mid_out = NULL;
    cr_assert_eq(ck_input(&mid_in, &(ck_input_opts){.shape = CK_TEST_SHAPE(4)}), CK_OK);
    cr_assert_eq(ck_layer_apply(inner, 1, &mid_in, &mid_out), CK_OK, "%s", ck_last_error());
    ck_model *middle = NULL;
    cr_assert_eq(ck_model_new(&middle, 1, &mid_in, 1, &mid_out, "middle"), CK_OK, "%s", ck_last_error());
    ck_tensor *a = NULL, *b = NULL, *ya = NULL, *yb = NULL, *sum = NULL;
    ck_layer *add = NULL;
    cr_assert_eq(ck_input(&a, &(ck_input_opts){.shape = CK_TEST_SHAPE(4)}), CK_OK);
    cr_assert_eq(ck_input(&b, &(ck_input_opts){.shape = CK_TEST_SHAPE(4)}), CK_OK);
    cr_assert_eq(ck_layer_apply(ck_model_layer(middle), 1, &a, &ya), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(ck_model_layer(middle), 1, &b, &yb), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Add\", \"config\": {}}", &add), CK_OK);
    cr_assert_eq(ck_layer_apply(add, 2, (ck_tensor *[]){ya, yb}, &sum), CK_OK, "%s", ck_last_error());
    ck_model *outer = NULL;
    cr_assert_eq(ck_model_new(&outer, 2, (ck_tensor *[]){a, b}, 1, &sum, "outer"), CK_OK, "%s", ck_last_error());
    check_steady_state(outer, "models nested two deep", 0);
    ck_model_free(outer);
    ck_model_free(middle);
    ck_layer_free(inner);
    ck_layer_free(add);
    ck_layer_free(ck_tensor_layer(a));
    ck_layer_free(ck_tensor_layer(b));
    ck_layer_free(ck_tensor_layer(mid_in));
}

/* Embedding(mask_zero) masks of the query and the value read by the
 * attention layers (query mask zeroing rows, value mask in the scores,
 * Keras masks AND-ed into MultiHeadAttention's attention mask), the output
 * mask then averaged over by a pooling; and MultiHeadAttention with
 * attention_axes (1,) on rank-4 inputs. */
Test(zero_alloc_sweep, masked_attention)
{
    static const char *const configs[] = {
        "{\"class_name\": \"Embedding\", \"config\": {\"input_dim\": 10, \"output_dim\": 4, \"mask_zero\": true}}",
        "{\"class_name\": \"Embedding\", \"config\": {\"input_dim\": 10, \"output_dim\": 4, \"mask_zero\": true}}",
        "{\"class_name\": \"Attention\", \"config\": {\"use_scale\": true}}",
        "{\"class_name\": \"AdditiveAttention\", \"config\": {}}",
        "{\"class_name\": \"MultiHeadAttention\", \"config\": {\"num_heads\": 2, \"key_dim\": 2}}",
        "{\"class_name\": \"GlobalAveragePooling1D\", \"config\": {}}",
        "{\"class_name\": \"MultiHeadAttention\", \"config\": {\"num_heads\": 2, \"key_dim\": 2, "
        "\"attention_axes\": [1]}}",
    };
    enum { N = sizeof configs / sizeof *configs };
    ck_layer *l[N];
    for (int i = 0; i < N; i++) cr_assert_eq(ck_layer_from_config(configs[i], &l[i]), CK_OK, "%s", ck_last_error());
    ck_tensor *in[3], *q, *v, *outs[6];
    cr_assert_eq(ck_input(&in[0], &(ck_input_opts){.shape = CK_TEST_SHAPE(5), .dtype = CK_INT32}), CK_OK);
    cr_assert_eq(ck_input(&in[1], &(ck_input_opts){.shape = CK_TEST_SHAPE(6), .dtype = CK_INT32}), CK_OK);
    cr_assert_eq(ck_input(&in[2], &(ck_input_opts){.shape = CK_TEST_SHAPE(3, 2, 4)}), CK_OK);
    cr_assert_eq(ck_layer_apply(l[0], 1, &in[0], &q), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(l[1], 1, &in[1], &v), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_set_return_attention_scores(l[3], true), CK_OK);
    cr_assert_eq(ck_layer_set_use_causal_mask(l[4], true), CK_OK);
    int n = 0;
    cr_assert_eq(ck_layer_apply(l[2], 2, (ck_tensor *[]){q, v}, &outs[0]), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply_multi(l[3], 2, (ck_tensor *[]){q, v}, 2, &outs[1], &n), CK_OK, "%s",
                 ck_last_error());
    cr_assert_eq(ck_layer_apply(l[4], 2, (ck_tensor *[]){q, v}, &outs[3]), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(l[5], 1, &outs[0], &outs[4]), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(l[6], 2, (ck_tensor *[]){in[2], in[2]}, &outs[5]), CK_OK, "%s", ck_last_error());
    cr_assert(ck_symbolic_mask(outs[3]) != NULL, "MultiHeadAttention passes the query's mask on");
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 3, in, 6, outs, NULL), CK_OK, "%s", ck_last_error());
    check_steady_state(m, "masked attention", 0);
    ck_model_free(m);
    for (int i = 0; i < N; i++) ck_layer_free(l[i]);
    for (int i = 0; i < 3; i++) ck_layer_free(ck_tensor_layer(in[i]));
}
