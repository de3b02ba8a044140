/* Exact fault paths: allocation k fails (and every one after it), for k =
 * 0, 1, ... until the operation succeeds, through load (.h5, .keras, JSON,
 * TF.js), predict, save (.h5, .keras, JSON), reload, compile and a 2-epoch
 * fit.  Every failing run must return CK_OUT_OF_MEMORY (not FormatError,
 * not success: jansson hides some failures, see core/json.h) and free what
 * it allocated; LeakSanitizer checks the memory that bypasses ckeras'
 * allocator.  Operations with very many allocations are sampled with a
 * stride to keep the sweep fast under the sanitizers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

/* ---- the failing allocator -------------------------------------------------- */

static long fail_from = -1, n_allocs, n_failed, n_live;

static void *sweep_alloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (size == 0) {
        if (ptr) n_live--;
        free(ptr);
        return NULL;
    }
    if (fail_from >= 0 && n_allocs >= fail_from) {
        n_failed++;
        return NULL;
    }
    n_allocs++;
    void *p = realloc(ptr, size);
    if (p && !ptr) n_live++;
    return p;
}

static void arm(long k)
{
    fail_from = k;
    n_allocs = n_failed = n_live = 0;
    ck_set_allocator(sweep_alloc, NULL);
}

typedef struct sweep_result {
    long points, leaks, false_ok, wrong_status;
} sweep_result;

typedef struct op {
    const char *name;
    ck_status (*run)(void *ctx);
    void (*undo)(void *ctx); /* frees what a successful run made */
    void *ctx;
} op;

/* Every k for operations of up to `every` allocations, else about `every`
 * points spread evenly (always including the first 64). */
static sweep_result sweep(const op *o, long every)
{
    sweep_result r = {0};
    arm(-1);
    ck_status st = o->run(o->ctx);
    long total = n_allocs;
    cr_assert_eq(st, CK_OK, "%s: %s", o->name, ck_last_error());
    o->undo(o->ctx);
    cr_assert_eq(n_live, 0, "%s leaks %ld blocks without any failure", o->name, n_live);
    long stride = total <= every ? 1 : total / every + 1;
    for (long k = 0; k < total; k += k < 64 ? 1 : stride) {
        arm(k);
        st = o->run(o->ctx);
        long failed = n_failed;
        if (st == CK_OK) o->undo(o->ctx);
        long leaked = n_live;
        ck_set_allocator(NULL, NULL);
        r.points++;
        if (st == CK_OK && failed > 0) {
            r.false_ok++;
            if (r.false_ok <= 3) fprintf(stderr, "%s: allocation %ld failing still succeeded\n", o->name, k);
        } else if (st != CK_OK && st != CK_OUT_OF_MEMORY) {
            r.wrong_status++;
            if (r.wrong_status <= 3)
                fprintf(stderr, "%s: allocation %ld failing gave %s: %s\n", o->name, k, ck_status_name(st),
                        ck_last_error());
        }
        if (leaked != 0) {
            r.leaks++;
            if (r.leaks <= 3) fprintf(stderr, "%s: allocation %ld failing leaked %ld blocks\n", o->name, k, leaked);
        }
    }
    fprintf(stderr, "sweep %-18s %6ld allocations, %5ld points: %ld leaks, %ld false successes, %ld wrong statuses\n",
            o->name, total, r.points, r.leaks, r.false_ok, r.wrong_status);
    return r;
}

static sweep_result sum;

static void check(const op *o, long every)
{
    sweep_result r = sweep(o, every);
    sum.points += r.points;
    sum.leaks += r.leaks;
    sum.false_ok += r.false_ok;
    sum.wrong_status += r.wrong_status;
    cr_expect(r.leaks == 0 && r.false_ok == 0 && r.wrong_status == 0, "%s: %ld leaks, %ld false successes, %ld wrong statuses",
              o->name, r.leaks, r.false_ok, r.wrong_status);
}

/* ---- operations ------------------------------------------------------------- */

typedef struct load_ctx {
    const char *path;
    ck_model *m;
} load_ctx;

static ck_status run_load(void *p)
{
    load_ctx *c = p;
    c->m = NULL;
    return ck_model_load(c->path, &c->m);
}

static void undo_load(void *p)
{
    load_ctx *c = p;
    ck_model_free(c->m);
    c->m = NULL;
}

typedef struct save_ctx {
    ck_model *m;
    const char *path;
} save_ctx;

static ck_status run_save(void *p)
{
    save_ctx *c = p;
    return ck_model_save(c->m, c->path);
}

static void undo_nothing(void *p) { (void)p; }

typedef struct predict_ctx {
    const char *path;
    ck_tensor *x, *y;
} predict_ctx;

/* load + predict on a fresh model: the first predict plans its buffers,
 * which the model keeps until it is freed */
static ck_status run_predict(void *p)
{
    predict_ctx *c = p;
    c->y = NULL;
    ck_model *m = NULL;
    ck_status st = ck_model_load(c->path, &m);
    if (st == CK_OK) st = ck_model_predict(m, 1, &c->x, &c->y, 0);
    ck_model_free(m);
    return st;
}

static void undo_predict(void *p)
{
    predict_ctx *c = p;
    ck_tensor_free(c->y);
    c->y = NULL;
}

/* A zero input batch of `rows` for the model's first input. */
static ck_tensor *input_for(ck_model *m, int64_t rows)
{
    ck_tensor *in = ck_model_input(m, 0);
    cr_assert(in);
    int64_t shape[8];
    int rank = in->rank;
    for (int i = 0; i < rank; i++) shape[i] = in->shape[i] <= 0 ? rows : in->shape[i];
    ck_tensor *x = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, rank, shape), CK_OK);
    return x;
}

typedef struct json_ctx {
    ck_model *m;
    char *text;
    ck_model *back;
} json_ctx;

/* the public JSON entry points, outside any file */
static ck_status run_to_json(void *p)
{
    json_ctx *c = p;
    c->text = NULL;
    return ck_model_to_json(c->m, &c->text);
}

static void undo_to_json(void *p)
{
    json_ctx *c = p;
    ck_free(c->text);
    c->text = NULL;
}

static ck_status run_from_json(void *p)
{
    json_ctx *c = p;
    c->back = NULL;
    return ck_model_from_json(c->text, &c->back);
}

static void undo_from_json(void *p)
{
    json_ctx *c = p;
    ck_model_free(c->back);
    c->back = NULL;
}

typedef struct fit_ctx {
    const char *path;
    ck_tensor *x, *y;
} fit_ctx;

/* compile + 2 epochs on a fresh copy of the model each time */
static ck_status run_fit(void *p)
{
    fit_ctx *c = p;
    ck_model *m = NULL;
    ck_status st = ck_model_load(c->path, &m);
    if (st != CK_OK) return st;
    ck_compile_opts co = {.optimizer = "adam", .loss = "mse"};
    st = ck_model_compile(m, &co);
    ck_fit_opts fo = {.batch_size = 4, .epochs = 2, .verbose = ck_int(0), .seed = ck_int(1)};
    if (st == CK_OK) st = ck_model_fit(m, 1, &c->x, 1, &c->y, &fo, NULL);
    ck_model_free(m);
    return st;
}

/* ---- the sweep ----------------------------------------------------------------- */

static void sweep_model(const char *label, const char *path, long every)
{
    char name[64];
    load_ctx lc = {path, NULL};
    snprintf(name, sizeof name, "load %s", label);
    check(&(op){name, run_load, undo_load, &lc}, every);

    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s", ck_last_error());
    predict_ctx pc = {path, input_for(m, 2), NULL};
    snprintf(name, sizeof name, "predict %s", label);
    check(&(op){name, run_predict, undo_predict, &pc}, every);
    ck_tensor_free(pc.x);

    json_ctx jc = {m, NULL, NULL};
    snprintf(name, sizeof name, "to_json %s", label);
    check(&(op){name, run_to_json, undo_to_json, &jc}, every);
    cr_assert_eq(ck_model_to_json(m, &jc.text), CK_OK);
    snprintf(name, sizeof name, "from_json %s", label);
    check(&(op){name, run_from_json, undo_from_json, &jc}, every);
    ck_free(jc.text);

    static const char *const exts[] = {"h5", "keras", "json"};
    for (int i = 0; i < 3; i++) {
        char file[128];
        snprintf(file, sizeof file, "sweep_%s.%s", label, exts[i]);
        char path2[1024];
        snprintf(path2, sizeof path2, "%s", ck_test_tmp(file));
        save_ctx sc = {m, path2};
        snprintf(name, sizeof name, "save %s .%s", label, exts[i]);
        check(&(op){name, run_save, undo_nothing, &sc}, every);
        load_ctx rc = {path2, NULL};
        snprintf(name, sizeof name, "reload %s .%s", label, exts[i]);
        check(&(op){name, run_load, undo_load, &rc}, every);
    }
    ck_model_free(m);
}

Test(alloc_sweep, load_predict_save_reload_fit, .timeout = 300)
{
    sweep_model("sgd.keras", ck_test_data("train/resume/sgd_momentum/mid.keras"), 100000);
    sweep_model("elu.h5", ck_test_data("keras/dl4j-dense-activations-io/ELU_0_model.h5"), 100000);
    sweep_model("tfjs", ck_test_data("tfjs/models/sequential_mlp/model.json"), 100000);
    load_ctx jc = {ck_test_data("keras/dl4j-dense-activations-io/ELU_0_config.json"), NULL};
    check(&(op){"load config.json", run_load, undo_load, &jc}, 100000);

    ck_model *m = NULL;
    const char *path = ck_test_data("keras/dl4j-dense-activations-io/ELU_0_model.h5");
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s", ck_last_error());
    fit_ctx fc = {path, input_for(m, 8), NULL};
    ck_tensor *out = ck_model_output(m, 0);
    int64_t yshape[8];
    int rank = out->rank;
    for (int i = 0; i < rank; i++) yshape[i] = out->shape[i] <= 0 ? 8 : out->shape[i];
    cr_assert_eq(ck_tensor_new(&fc.y, CK_FLOAT32, rank, yshape), CK_OK);
    ck_model_free(m);
    check(&(op){"compile+fit 2 epochs", run_fit, undo_nothing, &fc}, 1500);
    ck_tensor_free(fc.x);
    ck_tensor_free(fc.y);
    fprintf(stderr, "sweep total: %ld points, %ld leaks, %ld false successes, %ld wrong statuses\n", sum.points,
            sum.leaks, sum.false_ok, sum.wrong_status);
}
