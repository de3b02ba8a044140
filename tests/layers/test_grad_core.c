/* Backward passes of the core and activation layers, checked against
 * float64 central differences (support/gradcheck.c): Dense, Activation,
 * ReLU, LeakyReLU, ELU, ThresholdedReLU, Softmax, Flatten, Reshape,
 * InputLayer, Embedding. */
#include "layers/grad_helpers.h"

static const int64_t S2[2] = {3, 5}, S3[3] = {2, 3, 4}, S4[4] = {2, 3, 2, 2};

Test(grad_core, dense_activations_and_ranks)
{
    const char *acts[] = {NULL, "relu", "softmax", "tanh", "elu", "sigmoid", "gelu", "selu", "swish"};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        for (int bias = 0; bias < 2; bias++) {
            ck_layer *l = NULL;
            cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 4, .activation = acts[i], .dtype = CK_FLOAT64,
                                                       .no_bias = !bias,
                                                       .bias_initializer = "glorot_uniform"}),
                         CK_OK, "%s", ck_last_error());
            ck_tensor *x = bias ? grad_rand(1 + i, 3, S3, -2, 2) : grad_rand(1 + i, 2, S2, -2, 2);
            grad_run(l, 1, &x);
        }
}

Test(grad_core, activation_layer)
{
    const char *acts[] = {"linear", "relu", "softmax", "softplus", "softsign", "hard_sigmoid", "exponential",
                          "mish", "log_softmax", "relu6", "celu", "hard_silu", "log_sigmoid", "leaky_relu"};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_activation_layer(&l, &(ck_activation_layer_opts){.activation = acts[i], .dtype = CK_FLOAT64}),
                     CK_OK, "%s", ck_last_error());
        ck_tensor *x = grad_rand(10 + i, 3, S3, -4, 4);
        grad_run(l, 1, &x);
    }
}

Test(grad_core, parametrised_activation_layers)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_relu_layer(&l, &(ck_relu_layer_opts){.dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 1, (ck_tensor *[]){grad_rand(20, 3, S3, -3, 3)});
    cr_assert_eq(ck_relu_layer(&l, &(ck_relu_layer_opts){.max_value = ck_double(1.5), .negative_slope = 0.25,
                                                         .threshold = 0.5, .dtype = CK_FLOAT64}),
                 CK_OK, "%s", ck_last_error());
    grad_run(l, 1, (ck_tensor *[]){grad_rand(21, 3, S3, -3, 3)});
    cr_assert_eq(ck_relu_layer(&l, &(ck_relu_layer_opts){.max_value = ck_double(6), .dtype = CK_FLOAT64}),
                 CK_OK);
    grad_run(l, 1, (ck_tensor *[]){grad_rand(22, 2, S2, -8, 8)});
    cr_assert_eq(ck_leaky_relu(&l, &(ck_leaky_relu_opts){.dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 1, (ck_tensor *[]){grad_rand(23, 3, S3, -3, 3)});
    cr_assert_eq(ck_elu_layer(&l, &(ck_elu_layer_opts){.alpha = ck_double(0.7), .dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 1, (ck_tensor *[]){grad_rand(24, 3, S3, -3, 3)});
    cr_assert_eq(ck_thresholded_relu(&l, &(ck_thresholded_relu_opts){.dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 1, (ck_tensor *[]){grad_rand(25, 3, S3, -3, 3)});
}

Test(grad_core, softmax_layer_axes)
{
    ck_softmax_layer_opts opts[] = {
        {.dtype = CK_FLOAT64},
        {.naxes = 1, .axes = {1}, .dtype = CK_FLOAT64},
        {.naxes = 2, .axes = {1, 2}, .dtype = CK_FLOAT64},
        {.naxes = 2, .axes = {-1, 1}, .dtype = CK_FLOAT64},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_softmax_layer(&l, &opts[i]), CK_OK, "%s", ck_last_error());
        grad_run(l, 1, (ck_tensor *[]){grad_rand(30 + i, 3, S3, -3, 3)});
    }
}

Test(grad_core, flatten_reshape_input)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_flatten(&l, &(ck_flatten_opts){.dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 1, (ck_tensor *[]){grad_rand(40, 4, S4, -1, 1)});
    cr_assert_eq(ck_flatten(&l, &(ck_flatten_opts){.data_format = "channels_first", .dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 1, (ck_tensor *[]){grad_rand(41, 4, S4, -1, 1)});
    cr_assert_eq(ck_flatten(&l, &(ck_flatten_opts){.data_format = "channels_first", .dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 1, (ck_tensor *[]){grad_rand(42, 3, S3, -1, 1)});
    cr_assert_eq(ck_reshape(&l, &(ck_reshape_opts){.target_shape = {2, {4, -1}}, .dtype = CK_FLOAT64}), CK_OK);
    grad_run(l, 1, (ck_tensor *[]){grad_rand(43, 3, S3, -1, 1)});
    l = grad_from_config("{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3, 4], "
                         "\"dtype\": \"float64\", \"name\": \"in\"}}");
    grad_run(l, 1, (ck_tensor *[]){grad_rand(44, 3, S3, -1, 1)});
}

/* Gradient of the embeddings only (indices get none); repeated indices
 * must add up. */
Test(grad_core, embedding)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_embedding(&l, &(ck_embedding_opts){.input_dim = 6, .output_dim = 3, .dtype = CK_FLOAT64}), CK_OK);
    ck_tensor *idx = NULL;
    const int64_t shape[2] = {2, 4};
    cr_assert_eq(ck_tensor_new(&idx, CK_INT32, 2, shape), CK_OK);
    const int32_t v[8] = {0, 5, 2, 2, 3, 0, 2, 1};
    for (int i = 0; i < 8; i++) ((int32_t *)idx->data)[i] = v[i];
    grad_run(l, 1, &idx);
}
