/* Fused inference plans (issue 11, item 2; src/model/fuse.c): which steps
 * fuse, and that fused predictions equal the unfused ones (CK_FUSE=0, here
 * ck_fuse_override = 0) within 1e-6 relative, also after the weights
 * change, with no allocation once planned. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>

#include "ckeras.h"
#include "model/model.h"
#include "ops/conv_kernels.h"
#include "support/support.h"

/* Layers made by a test, freed at its end (the model holds its own refs). */
static ck_layer *made[32];
static int n_made;

/* Takes the address: the constructor's call and reading `*l` are not
 * ordered as arguments of one call. */
static ck_layer *keep(ck_status st, ck_layer **l)
{
    cr_assert_eq(st, CK_OK, "%s", ck_last_error());
    made[n_made++] = *l;
    return *l;
}

static void free_made(void)
{
    for (int i = 0; i < n_made; i++) ck_layer_free(made[i]);
    n_made = 0;
}

static ck_tensor *apply(ck_layer *l, ck_tensor *x)
{
    ck_tensor *y = NULL;
    cr_assert_eq(ck_layer_apply(l, 1, &x, &y), CK_OK, "%s", ck_last_error());
    return y;
}

static ck_layer *dense(int64_t units, const char *act)
{
    ck_layer *l = NULL;
    return keep(ck_dense(&l, &(ck_dense_opts){.units = units, .activation = act}), &l);
}

static ck_layer *bnorm(void)
{
    ck_layer *l = NULL;
    return keep(ck_batch_normalization(&l, NULL), &l);
}

/* Deterministic weights, a new set per `seed`; variances stay positive. */
static void randomize(ck_layer *l, unsigned seed)
{
    ck_tensor **w = NULL;
    int n = 0;
    cr_assert_eq(ck_layer_get_weights(l, &w, &n), CK_OK);
    for (int i = 0; i < n; i++)
        for (int64_t k = 0; k < w[i]->size; k++) {
            unsigned h = (unsigned)(k * 2654435761u) ^ (seed * 40503u + (unsigned)i * 977u);
            float v = (float)((h >> 8) % 1000) / 500.0f - 1.0f;
            ((float *)w[i]->data)[k] = i == 3 && n == 4 ? 0.5f + v * v : v;
        }
    cr_assert_eq(ck_layer_set_weights(l, n, w), CK_OK, "%s", ck_last_error());
    ck_tensors_free(w, n);
}

static ck_tensor *input(int64_t batch, ck_shape s)
{
    int64_t shape[CK_MAX_RANK] = {batch};
    for (int d = 0; d < s.rank; d++) shape[d + 1] = s.dims[d];
    ck_tensor *x = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, s.rank + 1, shape), CK_OK);
    for (int64_t k = 0; k < x->size; k++) ((float *)x->data)[k] = (float)((k * 37) % 23) / 11.0f - 1.0f;
    return x;
}

/* Predicts with fusion on or off, through a fresh plan. */
static void predict(ck_model *m, int fuse, ck_tensor *x, ck_tensor **y)
{
    atomic_store(&ck_fuse_override, fuse);
    ck_model_drop_plans(m);
    cr_assert_eq(ck_model_predict(m, 1, &x, y, 4), CK_OK, "%s", ck_last_error());
    atomic_store(&ck_fuse_override, -1);
}

static void expect_close(const ck_tensor *a, const ck_tensor *b, const char *what)
{
    cr_assert_eq(a->size, b->size, "%s", what);
    const float *p = a->data, *q = b->data;
    for (int64_t i = 0; i < a->size; i++)
        cr_assert(fabsf(p[i] - q[i]) <= 1e-6f * fabsf(q[i]) + 1e-30f, "%s: [%lld] fused %.9g, unfused %.9g",
                  what, (long long)i, p[i], q[i]);
}

/* Fused and unfused predictions of every output agree. */
static void check_same(ck_model *m, ck_tensor *x, const char *what)
{
    int n = ck_model_output_count(m);
    ck_tensor *f[4] = {NULL}, *u[4] = {NULL};
    predict(m, 0, x, u);
    predict(m, 1, x, f);
    for (int o = 0; o < n; o++) {
        expect_close(f[o], u[o], what);
        ck_tensor_free(f[o]);
        ck_tensor_free(u[o]);
    }
}

/* The step kinds of the fused plan of the last predict, as a string:
 * 'c' call, 'a' alias, 'd' Dense fused, 'D' Dense with a BN folded in. */
static void kinds(ck_model *m, char *buf)
{
    ck_tensor *y[4] = {NULL};
    const ck_tensor *s = ck_model_input(m, 0);
    ck_tensor *x = input(5, (ck_shape){s->rank - 1, {s->shape[1], s->shape[2], s->shape[3]}});
    predict(m, 1, x, y);
    const ck_plan *p = &m->predictor->plans[0];
    for (int s = 0; s < m->n_steps; s++)
        buf[s] = p->step_kind[s] == CK_STEP_ALIAS ? 'a' : p->step_kind[s] == CK_STEP_CALL ? 'c'
                 : p->step_bn[s] ? 'D' : 'd';
    buf[m->n_steps] = 0;
    for (int o = 0; o < ck_model_output_count(m); o++) ck_tensor_free(y[o]);
    ck_tensor_free(x);
}

static void finish(ck_model *m, ck_tensor *in)
{
    ck_model_free(m);
    ck_layer_free(ck_tensor_layer(in));
    free_made();
}

static ck_tensor *model_input(ck_shape s)
{
    ck_tensor *in = NULL;
    cr_assert_eq(ck_input(&in, &(ck_input_opts){.shape = s}), CK_OK);
    return in;
}

Test(fused_plans, dense_bn_activation)
{
    ck_tensor *in = model_input(CK_TEST_SHAPE(6));
    ck_layer *d1 = dense(8, NULL), *bn = bnorm(), *act = NULL, *d2 = dense(3, "relu");
    keep(ck_activation_layer(&act, &(ck_activation_layer_opts){.activation = "relu"}), &act);
    ck_tensor *h = apply(d2, apply(act, apply(bn, apply(d1, in))));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK);
    randomize(d1, 1), randomize(bn, 2), randomize(d2, 3);
    char k[16];
    kinds(m, k);
    cr_expect_str_eq(k, "Dacd");
    ck_tensor *x = input(37, CK_TEST_SHAPE(6));
    check_same(m, x, "Dense-BN-Activation");

    /* New weights after a fused predict: the folded coefficients follow. */
    ck_tensor *before = NULL, *after = NULL;
    predict(m, 1, x, &before);
    randomize(d1, 11), randomize(bn, 12);
    cr_assert_eq(ck_model_predict(m, 1, &x, &after, 4), CK_OK);
    int differs = 0;
    for (int64_t i = 0; i < after->size; i++) differs |= ((float *)after->data)[i] != ((float *)before->data)[i];
    cr_expect(differs, "the prediction did not change with the weights");
    ck_tensor *ref = NULL;
    predict(m, 0, x, &ref);
    expect_close(after, ref, "after set_weights");
    ck_tensor_free(before), ck_tensor_free(after), ck_tensor_free(ref), ck_tensor_free(x);
    finish(m, in);
}

Test(fused_plans, conv_bn)
{
    ck_tensor *in = model_input(CK_TEST_SHAPE(7, 7, 2));
    ck_layer *conv = NULL, *bn = bnorm();
    keep(ck_conv2d(&conv, &(ck_conv2d_opts){.filters = 4, .kernel_size = {3}}), &conv);
    ck_tensor *h = apply(bn, apply(conv, in));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK);
    randomize(conv, 4), randomize(bn, 5);
    /* folded into the direct convolution where its kernels run */
    char k[16];
    kinds(m, k);
    cr_expect_str_eq(k, ck_conv2d_nhwc_f32_available() ? "Da" : "ca");
    ck_tensor *x = input(9, CK_TEST_SHAPE(7, 7, 2));
    check_same(m, x, "Conv2D-BN");
    ck_tensor_free(x);
    finish(m, in);
}

/* "same" padding, 20 filters (a masked vector), then ReLU; and a Conv2D
 * with its own ReLU, whose BN cannot be folded (it follows the
 * activation). */
Test(fused_plans, conv_bn_same_and_activated)
{
    ck_tensor *in = model_input(CK_TEST_SHAPE(6, 5, 3));
    ck_layer *c1 = NULL, *bn1 = bnorm(), *act = NULL, *c2 = NULL, *bn2 = bnorm();
    keep(ck_conv2d(&c1, &(ck_conv2d_opts){.filters = 20, .kernel_size = {3, 3}, .padding = "same"}), &c1);
    keep(ck_activation_layer(&act, &(ck_activation_layer_opts){.activation = "relu"}), &act);
    keep(ck_conv2d(&c2, &(ck_conv2d_opts){.filters = 5, .kernel_size = {2, 2}, .activation = "relu"}), &c2);
    ck_tensor *h = apply(bn2, apply(c2, apply(act, apply(bn1, apply(c1, in)))));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK);
    randomize(c1, 6), randomize(bn1, 7), randomize(c2, 8), randomize(bn2, 9);
    char k[16];
    kinds(m, k);
    cr_expect_str_eq(k, ck_conv2d_nhwc_f32_available() ? "Daccc" : "caccc");
    ck_tensor *x = input(3, CK_TEST_SHAPE(6, 5, 3));
    check_same(m, x, "Conv2D-BN-ReLU-Conv2D(relu)-BN");
    ck_tensor_free(x);
    finish(m, in);
}

/* Conv2D -> MaxPooling2D computed in one pass: the MNIST pair (one
 * channel in, the band path), a Winograd pair (2x2 / 2 pooling of 3x3
 * convolutions over 8 channels or more, odd and even sizes), a "same"
 * 3x3 / 2 pooling and a Conv2D whose output is also read elsewhere (no
 * fusion). */
Test(fused_plans, conv_maxpool)
{
    ck_tensor *in = model_input(CK_TEST_SHAPE(12, 11, 1));
    ck_layer *c1 = NULL, *p1 = NULL, *c2 = NULL, *p2 = NULL, *c3 = NULL, *p3 = NULL;
    keep(ck_conv2d(&c1, &(ck_conv2d_opts){.filters = 9, .kernel_size = {3, 3}, .activation = "relu"}), &c1);
    keep(ck_max_pooling2d(&p1, &(ck_max_pooling2d_opts){.pool_size = {2, 2}}), &p1);
    keep(ck_conv2d(&c2, &(ck_conv2d_opts){.filters = 20, .kernel_size = {3, 3}, .padding = "same"}), &c2);
    keep(ck_max_pooling2d(&p2, &(ck_max_pooling2d_opts){.pool_size = {2, 2}}), &p2);
    keep(ck_conv2d(&c3, &(ck_conv2d_opts){.filters = 17, .kernel_size = {2, 2}, .activation = "relu"}), &c3);
    keep(ck_max_pooling2d(&p3, &(ck_max_pooling2d_opts){.pool_size = {3, 3}, .strides = {2, 2}, .padding = "same"}),
         &p3);
    /* 12x11 -> 10x9x9 -> 5x4 -> 5x4x20 -> 2x2 -> 1x1x17 -> 1x1 (same) */
    ck_tensor *h = apply(p3, apply(c3, apply(p2, apply(c2, apply(p1, apply(c1, in))))));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK);
    randomize(c1, 21), randomize(c2, 22), randomize(c3, 23);
    char k[16];
    kinds(m, k);
    cr_expect_str_eq(k, ck_conv2d_nhwc_f32_available() ? "DaDaDa" : "cccccc");
    ck_tensor *x = input(7, CK_TEST_SHAPE(12, 11, 1));
    check_same(m, x, "Conv2D-MaxPooling2D pairs");
    ck_tensor_free(x);
    finish(m, in);

}

Test(fused_plans, conv_maxpool_not_when_shared)
{
    /* the Conv2D's output read twice: nothing fused */
    ck_tensor *in = model_input(CK_TEST_SHAPE(8, 8, 8));
    ck_layer *c2 = NULL, *p2 = NULL, *c4 = NULL;
    keep(ck_conv2d(&c2, &(ck_conv2d_opts){.filters = 20, .kernel_size = {3, 3}, .padding = "same"}), &c2);
    keep(ck_max_pooling2d(&p2, &(ck_max_pooling2d_opts){.pool_size = {2, 2}}), &p2);
    keep(ck_conv2d(&c4, &(ck_conv2d_opts){.filters = 3, .kernel_size = {1, 1}}), &c4);
    ck_tensor *c = apply(c2, in);
    ck_tensor *outs[2] = {apply(p2, c), apply(c4, c)};
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 2, outs, NULL), CK_OK);
    randomize(c2, 24), randomize(c4, 25);
    char k[16];
    kinds(m, k);
    cr_expect_str_eq(k, "ccc");
    ck_tensor *x = input(3, CK_TEST_SHAPE(8, 8, 8));
    check_same(m, x, "shared Conv2D output");
    ck_tensor_free(x);
    finish(m, in);
}

Test(fused_plans, renames_alias)
{
    ck_tensor *in = model_input(CK_TEST_SHAPE(4, 3));
    ck_layer *f0 = NULL, *dr = NULL, *ad = NULL, *r1 = NULL, *f1 = NULL, *d = dense(5, "tanh");
    keep(ck_flatten(&f0, NULL), &f0);
    keep(ck_dropout(&dr, &(ck_dropout_opts){.rate = 0.5}), &dr);
    keep(ck_alpha_dropout(&ad, &(ck_dropout_opts){.rate = 0.5}), &ad);
    keep(ck_reshape(&r1, &(ck_reshape_opts){.target_shape = CK_TEST_SHAPE(5, 1)}), &r1);
    keep(ck_flatten(&f1, NULL), &f1);
    /* input -> Flatten -> Dropout -> Dense -> AlphaDropout -> Reshape -> Flatten: the
     * first two alias the model input, the last three the Dense output,
     * which is the model output. */
    ck_tensor *h = apply(f1, apply(r1, apply(ad, apply(d, apply(dr, apply(f0, in))))));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK);
    randomize(d, 6);
    char k[16];
    kinds(m, k);
    cr_expect_str_eq(k, "aadaaa");
    ck_tensor *x = input(10, CK_TEST_SHAPE(4, 3));
    check_same(m, x, "renames");
    ck_tensor_free(x);
    finish(m, in);
}

Test(fused_plans, no_fold_when_dense_output_is_shared)
{
    /* The Dense output feeds the BN and another Dense: not folded.  The BN
     * output itself feeds two layers: that does not matter. */
    ck_tensor *in = model_input(CK_TEST_SHAPE(6));
    ck_layer *d1 = dense(8, NULL), *bn = bnorm(), *d2 = dense(3, NULL), *d3 = dense(2, "sigmoid"),
             *d4 = dense(2, NULL), *bn2 = bnorm();
    ck_tensor *a = apply(d1, in), *b = apply(bn, a), *c = apply(d2, a);
    ck_tensor *e = apply(bn2, apply(d4, in));
    ck_tensor *o2[] = {b, c, apply(d3, e)};
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 3, o2, NULL), CK_OK, "%s", ck_last_error());
    randomize(d1, 7), randomize(bn, 8), randomize(d2, 9), randomize(d3, 10), randomize(d4, 13), randomize(bn2, 14);
    char k[16];
    kinds(m, k);
    /* The step order is Keras' (by depth): count the folds instead. */
    int folds = 0, bn_calls = 0;
    for (int s = 0; k[s]; s++) folds += k[s] == 'D', bn_calls += k[s] == 'c';
    cr_expect_eq(folds, 1, "plan %s", k);
    cr_expect_eq(bn_calls, 1, "plan %s", k);
    ck_tensor *x = input(11, CK_TEST_SHAPE(6));
    check_same(m, x, "shared Dense output");
    ck_tensor_free(x);
    finish(m, in);
}

Test(fused_plans, no_fold_when_bn_input_is_a_model_output)
{
    ck_tensor *in = model_input(CK_TEST_SHAPE(6));
    ck_layer *d1 = dense(8, NULL), *bn = bnorm();
    ck_tensor *a = apply(d1, in), *b = apply(bn, a);
    ck_tensor *outs[] = {a, b};
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 2, outs, NULL), CK_OK);
    randomize(d1, 15), randomize(bn, 16);
    char k[16];
    kinds(m, k);
    cr_expect_str_eq(k, "dc");
    ck_tensor *x = input(6, CK_TEST_SHAPE(6));
    check_same(m, x, "BN input is an output");
    ck_tensor_free(x);
    finish(m, in);
}

Test(fused_plans, no_allocation_after_planning)
{
    ck_tensor *in = model_input(CK_TEST_SHAPE(4, 3));
    ck_layer *f0 = NULL, *d1 = dense(8, NULL), *bn = bnorm(), *d2 = dense(3, "softmax");
    keep(ck_flatten(&f0, NULL), &f0);
    ck_tensor *h = apply(d2, apply(bn, apply(d1, apply(f0, in))));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK);
    randomize(d1, 17), randomize(bn, 18), randomize(d2, 19);
    ck_tensor *x = input(5, CK_TEST_SHAPE(4, 3)), *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 2), CK_OK);
    ck_tensor *outs[1] = {y};
    cr_assert_eq(ck_model_predict_into(m, 1, &x, outs, 2), CK_OK);
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 1, &x, outs, 2);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(attempts, 0, "%ld allocation(s) in steady state", attempts);
    ck_tensor_free(x), ck_tensor_free(y);
    finish(m, in);
}

/* A Dense with an activation folds the BN after it (act(x.W + b) * inv +
 * off, the unfused order). */
Test(fused_plans, dense_activation_bn)
{
    ck_tensor *in = model_input(CK_TEST_SHAPE(6));
    ck_layer *d1 = dense(8, "relu"), *bn = bnorm(), *d2 = dense(3, "tanh"), *bn2 = bnorm();
    ck_tensor *h = apply(bn2, apply(d2, apply(bn, apply(d1, in))));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK);
    randomize(d1, 21), randomize(bn, 22), randomize(d2, 23), randomize(bn2, 24);
    char k[16];
    kinds(m, k);
    cr_expect_str_eq(k, "DaDa");
    ck_tensor *x = input(37, CK_TEST_SHAPE(6));
    check_same(m, x, "Dense(relu)-BN");
    ck_tensor_free(x);
    finish(m, in);
}

/* The siamese shape of bench_infer: a nested Sequential of Dense, BN and
 * Dropout shared by two inputs, then a normalised Dot.  The nested model
 * fuses on each call: same predictions as unfused, nothing allocated. */
Test(fused_plans, nested_model_shared_by_two_inputs)
{
    ck_layer *d1 = dense(8, "relu"), *bn1 = bnorm(), *drop = NULL, *d2 = dense(8, "relu"), *bn2 = bnorm(),
             *d3 = dense(5, NULL), *dot = NULL;
    keep(ck_dropout(&drop, &(ck_dropout_opts){.rate = 0.5}), &drop);
    keep(ck_dot(&dot, &(ck_dot_opts){.axes = ck_axes_one(1), .normalize = true}), &dot);
    ck_layer *seq[] = {d1, bn1, drop, d2, bn2, d3};
    ck_model *tower = NULL;
    cr_assert_eq(ck_sequential(&tower, 6, seq, &CK_TEST_SHAPE(6), "tower"), CK_OK, "%s", ck_last_error());
    randomize(d1, 31), randomize(bn1, 32), randomize(d2, 33), randomize(bn2, 34), randomize(d3, 35);
    ck_tensor *a = model_input(CK_TEST_SHAPE(6)), *b = model_input(CK_TEST_SHAPE(6));
    ck_tensor *ea = apply(ck_model_layer(tower), a), *eb = apply(ck_model_layer(tower), b), *y = NULL;
    ck_tensor *pair[2] = {ea, eb}, *ins[2] = {a, b};
    cr_assert_eq(ck_layer_apply(dot, 2, pair, &y), CK_OK, "%s", ck_last_error());
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 2, ins, 1, &y, NULL), CK_OK, "%s", ck_last_error());
    ck_tensor *x[2] = {input(37, CK_TEST_SHAPE(6)), input(37, CK_TEST_SHAPE(6))};
    for (int64_t i = 0; i < x[1]->size; i++) ((float *)x[1]->data)[i] *= (float)(i % 7) - 3.0f;
    ck_tensor *f = NULL, *u = NULL;
    atomic_store(&ck_fuse_override, 0);
    ck_model_drop_plans(m);
    cr_assert_eq(ck_model_predict(m, 2, x, &u, 8), CK_OK, "%s", ck_last_error());
    atomic_store(&ck_fuse_override, 1);
    ck_model_drop_plans(m);
    cr_assert_eq(ck_model_predict(m, 2, x, &f, 8), CK_OK, "%s", ck_last_error());
    expect_close(f, u, "nested Dense/BN tower");
    ck_tensor *outs[1] = {f};
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 2, x, outs, 8);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    atomic_store(&ck_fuse_override, -1);
    cr_expect_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(attempts, 0, "%ld allocation(s) in steady state", attempts);
    expect_close(f, u, "nested Dense/BN tower, second run");
    ck_tensor_free(f), ck_tensor_free(u), ck_tensor_free(x[0]), ck_tensor_free(x[1]);
    ck_model_free(m);
    ck_model_free(tower);
    ck_layer_free(ck_tensor_layer(a));
    ck_layer_free(ck_tensor_layer(b));
    free_made();
}
