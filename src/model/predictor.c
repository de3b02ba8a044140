/* Predictors: per-caller run state of a model (issue 10, item 3).  The
 * planned buffers and every layer's call scratch live in a predictor; the
 * model and its layers are only read while predicting, so one loaded model
 * serves several threads through one predictor each, without a copy of
 * its weights.  ck_model_predict goes through the model's default
 * predictor; an atomic busy flag turns a second concurrent caller into
 * CK_RUNTIME_ERROR instead of two threads writing one set of buffers. */
#include <stdatomic.h>

#include "model/model.h"

static ck_status new_predictor(ck_predictor **out, ck_model *m, int owns_ref)
{
    ck_predictor *p = ck_calloc(1, sizeof *p);
    if (!p) return ck_oom("a predictor");
    p->m = m;
    p->owns_ref = owns_ref;
    atomic_init(&p->busy, 0);
    if (owns_ref) ck_layer_retain(&m->base);
    *out = p;
    return CK_OK;
}

/* Frees the plans; the model reference too when the predictor holds one. */
static void free_predictor(ck_predictor *p)
{
    for (int i = 0; i < 2; i++) ck_model_plan_free(p->m, &p->plans[i]);
    if (p->owns_ref) ck_layer_free(&p->m->base);
    ck_free(p);
}

ck_predictor *ck_model_default_predictor(ck_model *m)
{
    if (!m->predictor && new_predictor(&m->predictor, m, 0) != CK_OK) return NULL;
    return m->predictor;
}

void ck_model_drop_plans(ck_model *m)
{
    if (!m->predictor) return;
    free_predictor(m->predictor);
    m->predictor = NULL;
}

/* Claims a busy flag; CK_RUNTIME_ERROR naming `what` if it is taken. */
static ck_status claim(_Atomic int *busy, const char *fn, const char *what)
{
    if (atomic_exchange_explicit(busy, 1, memory_order_acquire))
        return ck_error(CK_RUNTIME_ERROR, "%s: %s is already predicting in another thread; give each thread its "
                        "own ck_predictor", fn, what);
    return CK_OK;
}

static void release(_Atomic int *busy) { atomic_store_explicit(busy, 0, memory_order_release); }

ck_status ck_model_predict(ck_model *m, int n, ck_tensor *const *inputs, ck_tensor **outputs, int64_t batch_size)
{
    CK_NEED(m);
    CK_NEED(inputs);
    CK_NEED(outputs);
    CK_TRY(claim(&m->busy, __func__, "the model"));
    ck_predictor *p = ck_model_default_predictor(m);
    ck_status st = p ? ck_model_predict_with(m, p->plans, n, ck_const_tensors(inputs), outputs, batch_size)
                     : ck_last_status();
    release(&m->busy);
    return st;
}

ck_status ck_model_predict_into(ck_model *m, int n, ck_tensor *const *inputs, ck_tensor *const *outputs,
                                int64_t batch_size)
{
    CK_NEED(m);
    CK_NEED(inputs);
    CK_NEED(outputs);
    CK_TRY(claim(&m->busy, __func__, "the model"));
    ck_predictor *p = ck_model_default_predictor(m);
    ck_status st = p ? ck_model_predict_into_with(m, p->plans, n, ck_const_tensors(inputs), outputs, batch_size)
                     : ck_last_status();
    release(&m->busy);
    return st;
}

ck_status ck_predictor_new(ck_predictor **out, ck_model *model)
{
    CK_NEED(out);
    CK_NEED(model);
    return new_predictor(out, model, 1);
}

ck_status ck_predictor_predict(ck_predictor *p, int n, ck_tensor *const *inputs, ck_tensor **outputs,
                               int64_t batch_size)
{
    CK_NEED(p);
    CK_NEED(inputs);
    CK_NEED(outputs);
    CK_TRY(claim(&p->busy, __func__, "the predictor"));
    ck_status st = ck_model_predict_with(p->m, p->plans, n, ck_const_tensors(inputs), outputs, batch_size);
    release(&p->busy);
    return st;
}

ck_status ck_predictor_predict_into(ck_predictor *p, int n, ck_tensor *const *inputs, ck_tensor *const *outputs,
                                    int64_t batch_size)
{
    CK_NEED(p);
    CK_NEED(inputs);
    CK_NEED(outputs);
    CK_TRY(claim(&p->busy, __func__, "the predictor"));
    ck_status st = ck_model_predict_into_with(p->m, p->plans, n, ck_const_tensors(inputs), outputs, batch_size);
    release(&p->busy);
    return st;
}

void ck_predictor_free(ck_predictor *p)
{
    if (p) free_predictor(p);
}
