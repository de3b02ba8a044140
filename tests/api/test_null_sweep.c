/* Every public function called with NULL for each pointer argument (issue
 * 10, item 2): with all pointers NULL, then with one NULL and valid
 * fixtures elsewhere.  The calls come from tests/api/null_sweep_calls.h,
 * generated from include/ckeras.h by tools/gen_null_sweep.py (a CTest
 * checks that it is current).  Each call runs in its own Criterion test
 * (its own process), on fresh fixtures, under ASan + LSan in the sanitizer
 * build: no crash, no leak, and a failure carries its message. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

/* Valid objects for the arguments that are not NULL. */
static struct fixtures {
    ck_tensor *t, *t2, *tarr[2];
    ck_tensor *sym;             /* the model input (owned by its layer) */
    ck_layer *layer;            /* an unbuilt Dense(3) */
    ck_layer *layers[1];
    ck_model *model;            /* Input(3) -> Dense(3), compiled mse / sgd */
    ck_weight *weight;
    ck_activation *act;
    ck_initializer *init;
    ck_regularizer *reg;
    ck_constraint *con;
    ck_loss *loss;
    ck_optimizer *opt;
    ck_metric *metric;
    ck_callback *cb;
    ck_predictor *pred;
    ck_history *history;        /* none: there is no constructor */
    ck_shape shapes[2];
    int64_t dims[CK_MAX_RANK];
    unsigned char bytes[256];
    ck_logs logs;
    ck_callback_fns cb_fns;
    char *dense_json, *model_json;
    const char *tmp_path, *tmp_csv;
} F;

/* Where outputs land; freed after each call. */
static struct sinks {
    ck_tensor *t, *mask, **tarr;
    ck_tensor *const *borrowed;
    ck_layer *layer;
    ck_model *model;
    ck_weight *weight;
    ck_activation *act;
    ck_initializer *init;
    ck_regularizer *reg;
    ck_constraint *con;
    ck_loss *loss;
    ck_optimizer *opt;
    ck_metric *metric;
    ck_callback *cb;
    ck_predictor *pred;
    ck_history *history;
    ck_shape shapes[4];
    int64_t i64, dims[CK_MAX_RANK];
    int i, ints[2];
    double d, *darr;
    _Alignas(64) char buf[4096];
    char *str;
    void *ptr;
    ck_dtype dtype;
    ck_alloc_fn alloc;
    ck_logs logs;
    ck_activation_opts act_opts;
} S;

static ck_status sweep_loss_fn(const ck_layer *layer, void *user, double *out)
{
    (void)layer, (void)user;
    *out = 0;
    return CK_OK;
}

static ck_status sweep_batch_fn(void *user, int epoch, int64_t batch, int64_t capacity, ck_tensor *const *x,
                                ck_tensor *const *y, ck_tensor *sample_weight, int64_t *rows)
{
    (void)user, (void)epoch, (void)batch, (void)capacity, (void)x, (void)y, (void)sample_weight;
    *rows = 0;
    return CK_OK;
}

static double sweep_lr_fn(int epoch, double lr, void *user)
{
    (void)epoch, (void)user;
    return lr;
}

#define OK(call) cr_assert_eq((call), CK_OK, "%s: %s", #call, ck_last_error())

static void setup(void)
{
    memset(&F, 0, sizeof F);
    memset(&S, 0, sizeof S);
    static const float ones[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    OK(ck_tensor_from_data(&F.t, CK_FLOAT32, 2, shape, ones));
    OK(ck_tensor_from_data(&F.t2, CK_FLOAT32, 2, shape, ones));
    F.tarr[0] = F.t;
    F.tarr[1] = F.t2;
    OK(ck_dense(&F.layer, &(ck_dense_opts){.units = 3}));
    F.layers[0] = F.layer;
    ck_layer *d = NULL;
    ck_tensor *y = NULL;
    OK(ck_input(&F.sym, &(ck_input_opts){.shape = CK_TEST_SHAPE(3)}));
    OK(ck_dense(&d, &(ck_dense_opts){.units = 3, .name = "d"}));
    OK(ck_layer_apply(d, 1, &F.sym, &y));
    OK(ck_model_new(&F.model, 1, &F.sym, 1, &y, "m"));
    ck_layer_free(d);
    ck_layer_free(ck_tensor_layer(F.sym));
    OK(ck_model_compile(F.model, &(ck_compile_opts){.loss = "mse", .optimizer = "sgd"}));
    F.weight = ck_layer_weight(ck_model_layer(F.model), 0);
    OK(ck_activation_new(&F.act, "relu", NULL));
    OK(ck_initializer_new(&F.init, "zeros"));
    OK(ck_regularizer_new(&F.reg, "l2"));
    OK(ck_constraint_new(&F.con, "NonNeg"));
    OK(ck_loss_new(&F.loss, "mse"));
    OK(ck_optimizer_new(&F.opt, "sgd"));
    OK(ck_metric_new(&F.metric, "mae"));
    OK(ck_terminate_on_nan(&F.cb));
    OK(ck_predictor_new(&F.pred, F.model));
    F.shapes[0] = CK_TEST_SHAPE(2, 3);
    F.shapes[1] = CK_TEST_SHAPE(2, 3);
    F.dims[0] = 2;
    F.dims[1] = 3;
    OK(ck_layer_get_config(ck_model_layer(F.model), &F.dense_json));
    ck_free(F.dense_json);
    OK(ck_layer_get_config(ck_model_layer_at(F.model, 1), &F.dense_json));
    OK(ck_model_to_json(F.model, &F.model_json));
    static char path[512], csv[512];
    snprintf(path, sizeof path, "%s", ck_test_tmp("sweep_out.h5"));
    snprintf(csv, sizeof csv, "%s", ck_test_tmp("sweep_log.csv"));
    F.tmp_path = path;
    F.tmp_csv = csv;
    ck_clear_error();
}

static void teardown(void)
{
    ck_tensor_free(S.t);
    ck_tensor_free(S.mask);
    if (S.tarr) ck_tensors_free(S.tarr, S.i);
    ck_layer_free(S.layer);
    ck_model_free(S.model);
    ck_activation_free(S.act);
    ck_initializer_free(S.init);
    ck_regularizer_free(S.reg);
    ck_constraint_free(S.con);
    ck_loss_free(S.loss);
    ck_optimizer_free(S.opt);
    ck_metric_free(S.metric);
    ck_callback_free(S.cb);
    ck_history_free(S.history);
    ck_predictor_free(S.pred);
    ck_free(S.darr);
    ck_free(S.str);
    ck_tensor_free(F.t);
    ck_tensor_free(F.t2);
    ck_layer_free(F.layer);
    ck_model_free(F.model);
    ck_activation_free(F.act);
    ck_initializer_free(F.init);
    ck_regularizer_free(F.reg);
    ck_constraint_free(F.con);
    ck_loss_free(F.loss);
    ck_optimizer_free(F.opt);
    ck_metric_free(F.metric);
    ck_callback_free(F.cb);
    ck_predictor_free(F.pred);
    ck_free(F.dense_json);
    ck_free(F.model_json);
}

/* A failure must say what went wrong. */
static void check_status(const char *call, ck_status st)
{
    if (st == CK_OK) return;
    cr_expect_eq(ck_last_status(), st, "%s returned %s but recorded %s", call, ck_status_name(st),
                 ck_status_name(ck_last_status()));
    cr_expect(ck_last_error()[0] != '\0', "%s failed without a message", call);
}

/* The all-NULL call of a fallible function must fail with CK_VALUE_ERROR
 * naming the function (nothing to compute from). */
static void check_all_null(const char *fn, const char *variant, ck_status st)
{
    if (strcmp(variant, "all_null") != 0) return;
    cr_expect_eq(st, CK_VALUE_ERROR, "%s with NULL arguments gave %s: %s", fn, ck_status_name(st), ck_last_error());
    cr_expect(strstr(ck_last_error(), fn) != NULL, "%s: the message does not name the function: %s", fn,
              ck_last_error());
}

#define SWEEP_STATUS(fn, variant, call)                                                \
    Test(null_sweep, fn##_##variant, .init = setup, .fini = teardown)                  \
    {                                                                                  \
        ck_status st = call;                                                           \
        check_status(#call, st);                                                       \
        check_all_null(#fn, #variant, st);                                             \
    }
#define SWEEP_VALUE(fn, variant, call)                                                 \
    Test(null_sweep, fn##_##variant, .init = setup, .fini = teardown)                  \
    {                                                                                  \
        (void)(call);                                                                  \
    }
#define SWEEP_VOID(fn, variant, call)                                                  \
    Test(null_sweep, fn##_##variant, .init = setup, .fini = teardown)                  \
    {                                                                                  \
        call;                                                                          \
    }

#include "api/null_sweep_calls.h"

/* The value getters' neutral results for a NULL object (documented in
 * include/ckeras.h). */
Test(null_sweep, neutral_values, .init = setup, .fini = teardown)
{
    cr_expect(isnan(ck_tensor_get(NULL, 0)));
    cr_expect_eq(ck_last_status(), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "ck_tensor_get") != NULL, "%s", ck_last_error());
    cr_expect_null(ck_layer_name(NULL));
    cr_expect_eq(ck_last_status(), CK_VALUE_ERROR);
    cr_expect_eq(ck_model_layer_count(NULL), 0);
    cr_expect_null(ck_model_layer(NULL));
    cr_expect(isnan(ck_metric_result(NULL)));
    cr_expect(isnan(ck_logs_get(NULL, "loss")));
    cr_expect_eq(ck_layer_dtype(NULL), 0);
}
