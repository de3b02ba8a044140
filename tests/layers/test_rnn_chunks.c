/* Recurrent inference over many steps with a larger batch, where ckeras
 * projects the inputs a chunk of steps at a time (rnn_common.c,
 * chunk_steps), against tf.keras 2.15 (tools/gen_rnn_chunk_goldens.py):
 * LSTM backwards with the whole sequence out, GRU time-major, SimpleRNN,
 * and LSTM under a mask; each case spans two chunks or more, the last
 * one partial.  The same layers with a small batch (one chunk) are the
 * goldens of test_recurrent. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>

#include "ckeras.h"
#include "support/golden_layer.h"
#include "support/support.h"

/* x[i] = ((i * 7919) % 2001) / 1000 - 1, as the generator makes it. */
static ck_tensor *inputs(const json_t *shape_json)
{
    int64_t shape[3];
    for (int i = 0; i < 3; i++) shape[i] = json_integer_value(json_array_get(shape_json, (size_t)i));
    ck_tensor *x = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 3, shape), CK_OK);
    float *p = x->data;
    for (int64_t i = 0; i < x->size; i++) p[i] = (float)((double)(i * 7919 % 2001) / 1000.0 - 1.0);
    return x;
}

static ck_tensor *npy(const char *name, const char *suffix)
{
    char rel[256];
    snprintf(rel, sizeof rel, "rnn_chunks/%s%s.npy", name, suffix);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static void check_case(const char *name, int masked)
{
    char rel[256];
    snprintf(rel, sizeof rel, "rnn_chunks/%s.json", name);
    json_t *c = ck_test_load_json(ck_test_data(rel));
    ck_tensor *x = inputs(json_object_get(c, "x_shape"));
    ck_layer *l = ck_test_layer_from_json(json_object_get(c, "layer"));
    ck_tensor *mask = masked ? npy(name, "_mask") : NULL;
    ck_tensor *y = NULL;
    ck_tensor *in[1] = {x}, *masks[1] = {mask};
    /* the first call builds the layer; the weights are set after */
    cr_assert_eq(ck_layer_call_masked(l, 1, in, masked ? masks : NULL, &y, NULL), CK_OK, "%s: %s", name,
                 ck_last_error());
    ck_tensor_free(y);
    const int nw = (int)json_integer_value(json_object_get(c, "weights"));
    ck_tensor *w[8];
    cr_assert(nw <= 8);
    for (int k = 0; k < nw; k++) {
        char suffix[16];
        snprintf(suffix, sizeof suffix, "_w%d", k);
        w[k] = npy(name, suffix);
    }
    cr_assert_eq(ck_layer_set_weights(l, nw, w), CK_OK, "%s: %s", name, ck_last_error());
    cr_assert_eq(ck_layer_call_masked(l, 1, in, masked ? masks : NULL, &y, NULL), CK_OK, "%s: %s", name,
                 ck_last_error());
    ck_tensor *want = npy(name, "_y");
    cr_assert_eq(y->size, want->size, "%s: %lld outputs, tf.keras has %lld", name, (long long)y->size,
                 (long long)want->size);
    const float *got = y->data, *ref = want->data;
    double worst = 0;
    for (int64_t i = 0; i < y->size; i++) {
        double d = fabs((double)got[i] - ref[i]) / (1.0 + fabs(ref[i]));
        if (!(d <= worst)) worst = d;
    }
    cr_expect(worst <= 1e-5, "%s: worst relative difference from tf.keras %g", name, worst);
    for (int k = 0; k < nw; k++) ck_tensor_free(w[k]);
    ck_tensor_free(want);
    ck_tensor_free(y);
    ck_tensor_free(mask);
    ck_tensor_free(x);
    ck_layer_free(l);
    json_decref(c);
}

Test(rnn_chunks, lstm_backwards_sequences) { check_case("lstm_backwards_seq", 0); }
Test(rnn_chunks, gru_time_major) { check_case("gru_time_major", 0); }
Test(rnn_chunks, simple_rnn) { check_case("simple_rnn", 0); }
Test(rnn_chunks, lstm_masked) { check_case("lstm_masked", 1); }

/* No input features (the fuzzers' kind of model): nothing to gather, the
 * projection is the bias; every row then follows the same recurrence, so
 * each equals the one-row call (one chunk, the whole projection). */
Test(rnn_chunks, no_features)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_lstm(&l, &(ck_rnn_opts){.units = 64, .bias_initializer = "ones"}), CK_OK, "%s", ck_last_error());
    ck_tensor *x = NULL, *x1 = NULL, *y = NULL, *y1 = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 3, (int64_t[]){32, 100, 0}), CK_OK);
    cr_assert_eq(ck_tensor_new(&x1, CK_FLOAT32, 3, (int64_t[]){1, 100, 0}), CK_OK);
    cr_assert_eq(ck_layer_call(l, 1, &x, &y), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_call(l, 1, &x1, &y1), CK_OK, "%s", ck_last_error());
    const float *a = y->data, *b = y1->data;
    int same = 1;
    for (int64_t r = 0; r < 32; r++)
        for (int64_t u = 0; u < 64; u++) same &= a[r * 64 + u] == b[u];
    cr_expect(same, "the rows of a chunked call differ from the one-row call");
    cr_expect(b[0] != 0.0f, "the bias must reach the output");
    ck_tensor_free(x), ck_tensor_free(x1), ck_tensor_free(y), ck_tensor_free(y1);
    ck_layer_free(l);
}
