/* examples/layers.c: build a Dense and a Dot layer, call them on real
 * tensors, and print their configs, weights and parameter counts. */
#include <stdio.h>

#include "ckeras.h"

static int check(ck_status st)
{
    if (st != CK_OK) fprintf(stderr, "layers: %s: %s\n", ck_status_name(st), ck_last_error());
    return st != CK_OK;
}

static void print_tensor(const char *label, const ck_tensor *t)
{
    char shape[64];
    printf("%s %s:", label, ck_shape_str(shape, sizeof shape, t->rank, t->shape));
    for (int64_t i = 0; i < t->size && i < 12; i++) printf(" %.4f", ck_tensor_get(t, i));
    printf(t->size > 12 ? " ...\n" : "\n");
}

int main(void)
{
    ck_layer *dense = NULL, *dot = NULL;
    ck_tensor *x = NULL, *h = NULL, *sim = NULL, **weights = NULL;
    char *config = NULL;
    int n_weights = 0, failed = 0;
    int64_t params = 0;

    ck_set_random_seed(42);
    float data[2 * 3] = {1, 2, 3, -1, 0.5f, 2};
    failed |= check(ck_tensor_from_data(&x, CK_FLOAT32, 2, (int64_t[]){2, 3}, data));
    failed |= check(ck_dense(&dense, &(ck_dense_opts){.units = 4, .activation = "relu", .name = "encoder"}));
    if (!failed) failed |= check(ck_layer_call(dense, 1, (ck_tensor *[]){x}, &h));
    if (!failed) failed |= check(ck_layer_get_config(dense, &config));
    if (!failed) {
        printf("Dense config: %s\n", config);
        ck_free(config);
        config = NULL;
        failed |= check(ck_layer_count_params(dense, &params));
        printf("Dense params: %lld\n", (long long)params);
        failed |= check(ck_layer_get_weights(dense, &weights, &n_weights));
    }
    for (int i = 0; !failed && i < n_weights; i++) print_tensor(ck_weight_name(ck_layer_weight(dense, i)), weights[i]);
    if (!failed) print_tensor("Dense output", h);

    /* Cosine similarity of the two encoded rows with themselves. */
    if (!failed) failed |= check(ck_dot(&dot, &(ck_dot_opts){.axes = ck_axes_one(1), .normalize = true}));
    if (!failed) failed |= check(ck_layer_call(dot, 2, (ck_tensor *[]){h, h}, &sim));
    if (!failed) failed |= check(ck_layer_get_config(dot, &config));
    if (!failed) {
        printf("Dot config: %s\n", config);
        failed |= check(ck_layer_count_params(dot, &params));
        printf("Dot params: %lld\n", (long long)params);
        print_tensor("Dot output (cosine of each row with itself)", sim);
    }
    ck_free(config);
    ck_tensors_free(weights, n_weights);
    ck_tensor_free(x);
    ck_tensor_free(h);
    ck_tensor_free(sim);
    ck_layer_free(dense);
    ck_layer_free(dot);
    return failed;
}
