/* Batches for fit and evaluate: shape checks, row gathering (with the
 * shuffled order and dtype conversion), sample and class weights. */
#include <math.h>
#include <string.h>

#include "train/batches.h"

ck_status ck_batches_check(ck_model *m, const ck_trainer *t, int n_x, const ck_tensor *const *x, int n_y,
                           const ck_tensor *const *y, const ck_tensor *sample_weight, int64_t *samples)
{
    char a[128], b[128];
    if (n_x != m->n_inputs || !x)
        return ck_error(CK_VALUE_ERROR, "Model \"%s\" expects %d input(s), but it received %d input tensors",
                        m->base.name, m->n_inputs, n_x);
    if (n_y != m->n_outputs || !y)
        return ck_error(CK_VALUE_ERROR, "Model \"%s\" has %d output(s), but %d target arrays were given",
                        m->base.name, m->n_outputs, n_y);
    int64_t n = -1;
    for (int i = 0; i < n_x + n_y; i++) {
        const ck_tensor *v = i < n_x ? x[i] : y[i - n_x];
        if (!v || !v->data || v->rank < 1)
            return ck_error(CK_VALUE_ERROR, "fit: %s %d has no data or no batch axis", i < n_x ? "input" : "target",
                            i < n_x ? i : i - n_x);
        if (n >= 0 && v->shape[0] != n)
            return ck_error(CK_VALUE_ERROR, "Data cardinality is ambiguous: x and y have %lld and %lld samples. "
                            "Make sure all arrays contain the same number of samples.", (long long)n,
                            (long long)v->shape[0]);
        n = v->shape[0];
    }
    for (int i = 0; i < n_x; i++) {
        const ck_tensor *sym = m->inputs[i];
        int ok = x[i]->rank == sym->rank;
        for (int d = 1; ok && d < sym->rank; d++) ok = sym->shape[d] < 0 || sym->shape[d] == x[i]->shape[d];
        if (!ok)
            return ck_error(CK_VALUE_ERROR, "Input %d of model \"%s\" is incompatible with the model: expected "
                            "shape=%s, found shape=%s", i, m->base.name,
                            ck_shape_str(a, sizeof a, sym->rank, sym->shape), ck_shape_str(b, sizeof b, x[i]->rank, x[i]->shape));
    }
    for (int o = 0; o < n_y; o++) {
        if (!t->losses[o]) continue;
        ck_shape ys = ck_tensor_shape(y[o]), ps = ck_tensor_shape(m->outputs[o]);
        ys.dims[0] = -1;
        ck_status st = ck_loss_check_shapes(t->losses[o], &ys, &ps);
        if (st != CK_OK)
            return ck_error(st, "target %d of model \"%s\" does not fit output \"%s\" %s: %s", o, m->base.name,
                            ck_tensor_history(m->outputs[o]) ? ck_tensor_history(m->outputs[o])->layer->name : "?",
                            ck_shape_fmt(a, sizeof a, &ps), ck_last_error());
    }
    if (sample_weight && (!sample_weight->data || sample_weight->rank < 1 || sample_weight->shape[0] != n ||
                          sample_weight->size != n))
        return ck_error(CK_VALUE_ERROR, "sample_weight must have shape (%lld,), got %s", (long long)n,
                        sample_weight ? ck_shape_str(a, sizeof a, sample_weight->rank, sample_weight->shape) : "?");
    *samples = n;
    return CK_OK;
}

void ck_batches_free(ck_batches *b)
{
    for (int i = 0; i < b->n_x; i++) ck_tensor_free(b->x[i]);
    for (int i = 0; i < b->n_y; i++) ck_tensor_free(b->y[i]);
    ck_tensor_free(b->sw);
    ck_free(b->order);
    memset(b, 0, sizeof *b);
}

ck_status ck_batches_init(ck_batches *b, ck_model *m, int n_y, const ck_tensor *const *y, int64_t batch_size,
                          int64_t rows_total, int with_weights)
{
    memset(b, 0, sizeof *b);
    b->n_x = m->n_inputs;
    b->n_y = n_y;
    b->capacity = batch_size;
    ck_status st = CK_OK;
    int64_t shape[CK_MAX_RANK];
    for (int i = 0; st == CK_OK && i < m->n_inputs; i++) {
        const ck_tensor *sym = m->inputs[i];
        for (int d = 0; d < sym->rank; d++) shape[d] = sym->shape[d];
        shape[0] = batch_size;
        b->x_shapes_known = 1;
        for (int d = 1; d < sym->rank; d++)
            if (shape[d] < 0) st = ck_error(CK_VALUE_ERROR, "fit: input %d of model \"%s\" has an unknown dim; "
                                            "ckeras trains models whose input shapes are known", i, m->base.name);
        if (st == CK_OK) st = ck_tensor_new(&b->x[i], sym->dtype, sym->rank, shape);
    }
    for (int o = 0; st == CK_OK && o < n_y; o++) {
        for (int d = 0; d < y[o]->rank; d++) shape[d] = y[o]->shape[d];
        shape[0] = batch_size;
        st = ck_tensor_new(&b->y[o], y[o]->dtype, y[o]->rank, shape);
    }
    if (st == CK_OK && with_weights) st = ck_tensor_new(&b->sw, CK_FLOAT32, 1, &batch_size);
    if (st == CK_OK && rows_total > 0) {
        b->order = ck_malloc((size_t)rows_total * sizeof *b->order);
        if (!b->order) st = ck_oom("the batch order");
    }
    if (st != CK_OK) ck_batches_free(b);
    return st;
}

void ck_batches_order(ck_batches *b, int64_t n, int shuffle, ck_rng *rng)
{
    for (int64_t i = 0; i < n; i++) b->order[i] = i;
    if (!shuffle) return;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(ck_rng_uniform(rng) * (double)(i + 1));
        int64_t tmp = b->order[i];
        b->order[i] = b->order[j];
        b->order[j] = tmp;
    }
}

/* Copies row `src_row` of src into row `dst_row` of dst, converting the
 * dtype when they differ (x given as float64 for a float32 model). */
static void copy_row(ck_tensor *dst, int64_t dst_row, const ck_tensor *src, int64_t src_row)
{
    int64_t per = src->shape[0] ? src->size / src->shape[0] : 0;
    if (dst->dtype == src->dtype) {
        size_t bytes = (size_t)per * ck_dtype_size(src->dtype);
        memcpy((char *)dst->data + (size_t)dst_row * bytes, (const char *)src->data + (size_t)src_row * bytes, bytes);
        return;
    }
    for (int64_t k = 0; k < per; k++) {
        double v = ck_tensor_get(src, src_row * per + k);
        int64_t at = dst_row * per + k;
        switch (dst->dtype) {
        case CK_FLOAT32: ((float *)dst->data)[at] = (float)v; break;
        case CK_FLOAT64: ((double *)dst->data)[at] = v; break;
        case CK_INT32: ((int32_t *)dst->data)[at] = (int32_t)v; break;
        case CK_INT64: ((int64_t *)dst->data)[at] = (int64_t)v; break;
        }
    }
}

/* The class of sample r of y: the integer label, or the argmax of a
 * one-hot row (Keras' class_weight rules). */
static int64_t class_of(const ck_tensor *y, int64_t r)
{
    int64_t per = y->shape[0] ? y->size / y->shape[0] : 0;
    if (per <= 1) return (int64_t)ck_tensor_get(y, r * (per ? per : 1));
    int64_t best = 0;
    for (int64_t k = 1; k < per; k++)
        if (ck_tensor_get(y, r * per + k) > ck_tensor_get(y, r * per + best)) best = k;
    return best;
}

ck_status ck_batches_fill(ck_batches *b, const ck_batch_source *src, int64_t first, int64_t rows)
{
    for (int64_t r = 0; r < rows; r++) {
        int64_t at = b->order ? b->order[first + r] : first + r;
        at += src->offset;
        for (int i = 0; i < b->n_x; i++) copy_row(b->x[i], r, src->x[i], at);
        for (int o = 0; o < b->n_y; o++) copy_row(b->y[o], r, src->y[o], at);
        if (b->sw) {
            double w = src->sample_weight ? ck_tensor_get(src->sample_weight, at) : 1.0;
            if (src->class_weight) {
                int64_t c = class_of(src->y[0], at);
                if (c < 0 || c >= src->n_class_weight)
                    return ck_error(CK_VALUE_ERROR, "Expected `class_weight` to be a dict with keys from 0 to one "
                                    "less than the number of classes, found class %lld", (long long)c);
                w *= src->class_weight[c];
            }
            ((float *)b->sw->data)[r] = (float)w;
        }
    }
    return CK_OK;
}

/* A view of the first `rows` rows of a batch buffer. */
static ck_tensor head(const ck_tensor *t, int64_t rows)
{
    ck_tensor v = *t;
    v.size = t->shape[0] ? t->size / t->shape[0] * rows : 0;
    v.shape[0] = rows;
    v.owns_data = 0;
    return v;
}

void ck_batches_views(const ck_batches *b, int64_t rows, ck_batch_view *v)
{
    for (int i = 0; i < b->n_x; i++) {
        v->xs[i] = head(b->x[i], rows);
        v->x[i] = &v->xs[i];
    }
    for (int o = 0; o < b->n_y; o++) {
        v->ys[o] = head(b->y[o], rows);
        v->y[o] = &v->ys[o];
    }
    if (b->sw) {
        v->sws = head(b->sw, rows);
        v->sw = &v->sws;
    } else {
        v->sw = NULL;
    }
}
