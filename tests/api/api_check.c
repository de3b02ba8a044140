/* Built by tests/api/check_header.sh with
 *   cc -std=c11 -Wall -Wextra -Werror -pedantic
 * against include/ckeras.h alone: the option conventions as a C program
 * writes them (designated initializers, true / false, ck_double(0)), and
 * tensor arrays passed as a plain `ck_tensor *in[]` without a cast.
 * Exits 0 when every check holds. */
#include <ckeras.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "api_check.c: %s (%s)\n", what, ck_last_error());
        failures++;
    }
}

static int config_has(const ck_layer *l, const char *needle)
{
    char *text = NULL;
    if (ck_layer_get_config(l, &text) != CK_OK) return 0;
    int found = strstr(text, needle) != NULL;
    ck_free(text);
    return found;
}

int main(void)
{
    /* A frozen Dense without bias, as written in the issue. */
    ck_layer *d = NULL;
    check(ck_dense(&d, &(ck_dense_opts){.units = 4, .no_bias = true, .frozen = true}) == CK_OK, "ck_dense");
    if (d) {
        check(!ck_layer_trainable(d), "frozen");
        check(config_has(d, "\"use_bias\": false"), "use_bias false in the config");
        check(config_has(d, "\"trainable\": false"), "trainable false in the config");
    }

    /* epsilon 0 is a value, not "the default". */
    ck_layer *bn = NULL;
    check(ck_batch_normalization(&bn, &(ck_batch_normalization_opts){.epsilon = ck_double(0)}) == CK_OK, "bn");
    if (bn) check(config_has(bn, "\"epsilon\": 0.0"), "epsilon 0 in the config");

    /* Dot with a pair of axes; a model called on `ck_tensor *in[]`. */
    ck_tensor *a = NULL, *b = NULL, *o = NULL;
    check(ck_input(&a, &(ck_input_opts){.shape = {1, {3}}}) == CK_OK, "input a");
    check(ck_input(&b, &(ck_input_opts){.shape = {1, {3}}}) == CK_OK, "input b");
    ck_layer *dot = NULL;
    check(ck_dot(&dot, &(ck_dot_opts){.axes = ck_axes_pair(1, 1), .normalize = false}) == CK_OK, "dot");
    ck_tensor *sym[] = {a, b};
    if (dot) check(ck_layer_apply(dot, 2, sym, &o) == CK_OK, "apply");
    ck_model *m = NULL;
    check(ck_model_new(&m, 2, sym, 1, &o, NULL) == CK_OK, "model");
    float xv[3] = {1, 2, 3}, yv[3] = {4, 5, 6};
    int64_t shape[2] = {1, 3};
    ck_tensor *x = NULL, *y = NULL, *out[1] = {NULL};
    check(ck_tensor_wrap(&x, CK_FLOAT32, 2, shape, xv) == CK_OK, "wrap x");
    check(ck_tensor_wrap(&y, CK_FLOAT32, 2, shape, yv) == CK_OK, "wrap y");
    ck_tensor *in[] = {x, y};
    if (m) {
        check(ck_model_predict(m, 2, in, out, 0) == CK_OK, "predict");
        check(out[0] && ck_tensor_get(out[0], 0) == 32, "predicted 1*4 + 2*5 + 3*6");
    }
    ck_tensor *r = NULL;
    check(ck_layer_call(dot, 2, in, &r) == CK_OK, "layer call");
    check(r && ck_tensor_get(r, 0) == 32, "called 32");

    ck_tensor_free(r);
    ck_tensor_free(out[0]);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
    ck_layer_free(dot);
    ck_layer_free(ck_tensor_layer(a));
    ck_layer_free(ck_tensor_layer(b));
    ck_layer_free(bn);
    ck_layer_free(d);
    if (failures == 0) printf("api_check.c: all checks passed\n");
    return failures ? 1 : 0;
}
