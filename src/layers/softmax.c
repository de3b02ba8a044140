/* keras.layers.Softmax(axis=-1).  The layer calls backend.softmax (any
 * rank, unlike the softmax activation's 1-D check); a list of several axes
 * gives exp(x - logsumexp(x, axes)).  Computed in double per group of
 * reduced positions, walking the tensor in place: no scratch memory. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer_args.h"
#include "params/groups.h"

typedef struct ck_softmax_l {
    ck_layer base;
    int naxes, axis_is_list;
    int axes[CK_MAX_RANK];
} ck_softmax_l;

static ck_status softmax_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)layer, (void)n;
    *out = in[0];
    return CK_OK;
}

/* Odometer over the dims listed in `dims`: advances idx / *off and returns
 * 0 once every combination has been visited. */
static int next(int nd, const int *dims, const int64_t *shape, const int64_t *stride, int64_t *idx, int64_t *off)
{
    for (int k = nd - 1; k >= 0; k--) {
        int d = dims[k];
        idx[d]++;
        *off += stride[d];
        if (idx[d] < shape[d]) return 1;
        *off -= stride[d] * shape[d];
        idx[d] = 0;
    }
    return 0;
}

static inline double get(const ck_tensor *t, int64_t i)
{
    return t->dtype == CK_FLOAT32 ? (double)((const float *)t->data)[i] : ((const double *)t->data)[i];
}

static inline void put(ck_tensor *t, int64_t i, double v)
{
    if (t->dtype == CK_FLOAT32) ((float *)t->data)[i] = (float)v;
    else ((double *)t->data)[i] = v;
}

static ck_status softmax_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const ck_softmax_l *s = (const ck_softmax_l *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    char buf[128];
    (void)n;
    if (!ck_dtype_is_floating(x->dtype))
        return ck_error(CK_TYPE_ERROR, "Softmax layer \"%s\" needs a floating input, got %s", layer->name,
                        ck_dtype_name(x->dtype));
    int reduce[CK_MAX_RANK] = {0};
    for (int i = 0; i < s->naxes; i++) {
        int a = s->axes[i];
        if (a < -x->rank || a >= x->rank)
            return ck_error(CK_VALUE_ERROR, "Softmax layer \"%s\": axis %d is out of range for an input of shape %s",
                            layer->name, a, ck_shape_str(buf, sizeof buf, x->rank, x->shape));
        reduce[a < 0 ? a + x->rank : a] = 1;
    }
    int rd[CK_MAX_RANK], kd[CK_MAX_RANK], nr = 0, nk = 0;
    for (int d = 0; d < x->rank; d++) {
        if (reduce[d]) rd[nr++] = d;
        else kd[nk++] = d;
    }
    if (x->size == 0) return CK_OK;
    int64_t stride[CK_MAX_RANK], step = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        stride[d] = step;
        step *= x->shape[d];
    }
    int multi = s->naxes > 1;
    int64_t kidx[CK_MAX_RANK] = {0}, base = 0;
    do {
        int64_t ridx[CK_MAX_RANK] = {0}, off = base;
        double mx = -INFINITY;
        do {
            double v = get(x, off);
            if (v > mx || isnan(v)) mx = isnan(mx) ? mx : v;
        } while (next(nr, rd, x->shape, stride, ridx, &off));
        double sum = 0;
        off = base;
        do sum += exp(get(x, off) - mx);
        while (next(nr, rd, x->shape, stride, ridx, &off));
        double lse = mx + log(sum);
        off = base;
        do put(out, off, multi ? exp(get(x, off) - lse) : exp(get(x, off) - mx) / sum);
        while (next(nr, rd, x->shape, stride, ridx, &off));
    } while (next(nk, kd, x->shape, stride, kidx, &base));
    return CK_OK;
}

/* din = y * (dout - sum(dout * y)) over each group of the softmax axes
 * (the same for the one-axis and the logsumexp forms).  Needs only the
 * output, which the trainer keeps. */
static ck_status softmax_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_softmax_l *s = (const ck_softmax_l *)layer;
    (void)ctx, (void)n, (void)in, (void)saved;
    if (!din || !din[0] || out->size == 0) return CK_OK;
    ck_groups g;
    CK_TRY(ck_groups_init(&g, out->rank, out->shape, s->axes, s->naxes, "Softmax"));
    ck_tensor *d = din[0];
    for (int64_t k = 0; k < g.ngroups; k++) {
        int64_t base = ck_groups_base(&g, k);
        double dot = 0;
        for (int64_t j = 0; j < g.gsize; j++) {
            int64_t o = base + ck_groups_at(&g, j);
            dot += get(dout, o) * get(out, o);
        }
        for (int64_t j = 0; j < g.gsize; j++) {
            int64_t o = base + ck_groups_at(&g, j);
            put(d, o, get(out, o) * (get(dout, o) - dot));
        }
    }
    return CK_OK;
}

static ck_status softmax_get_config(const ck_layer *layer, json_t *c)
{
    const ck_softmax_l *s = (const ck_softmax_l *)layer;
    return ck_json_set(c, "axis", ck_arg_axes_json(s->axes, s->naxes, s->axis_is_list));
}

static void fill(ck_layer *layer, int naxes, const int *axes, int is_list)
{
    ck_softmax_l *s = (ck_softmax_l *)layer;
    s->naxes = naxes;
    s->axis_is_list = is_list;
    memcpy(s->axes, axes, (size_t)naxes * sizeof *axes);
}

ck_status ck_softmax_layer(ck_layer **out, const ck_softmax_layer_opts *o)
{
    CK_NEED(out);
    static const ck_softmax_layer_opts defaults;
    if (!o) o = &defaults;
    if (o->naxes < 0 || o->naxes > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Softmax: naxes must be 0 to %d, got %d", CK_MAX_RANK, o->naxes);
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_softmax_class, o, &layer));
    if (o->naxes) fill(layer, o->naxes, o->axes, o->naxes > 1);
    else fill(layer, 1, (int[]){-1}, 0);
    *out = layer;
    return CK_OK;
}

static ck_status softmax_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"axis", "input_dtype", NULL};
    int axes[CK_MAX_RANK] = {-1}, naxes = 1, is_list = 0;
    CK_TRY(ck_arg_axes(json_object_get(c, "axis"), "Softmax", "axis", axes, &naxes, &is_list));
    if (naxes == 0) return ck_error(CK_VALUE_ERROR, "Softmax config: `axis` must name at least one axis");
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_softmax_class, c, keys, &layer));
    fill(layer, naxes, axes, is_list);
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_softmax_class = {
    .class_name = "Softmax",
    .size = sizeof(ck_softmax_l),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .compute_output_shape = softmax_output_shape,
    .call = softmax_call,
    .backward = softmax_backward,
    .get_config = softmax_get_config,
    .from_config = softmax_from_config,
};
