/* keras.layers.TimeDistributed: the inner layer applied to every time
 * step at once, by viewing inputs (batch, time, ...) as (batch*time, ...)
 * (tf.keras' reshape path, which it takes for every built-in layer) and
 * the inner outputs (batch*time, ...) as (batch, time, ...).  The views
 * share the data, so a call copies nothing; the inner layer's scratch and
 * saved blocks are this layer's. */
#include <string.h>

#include "model/wrapper_util.h"

typedef struct td_layer {
    ck_layer base;
    ck_layer *inner;
} td_layer;


static ck_status finish(ck_layer *layer, ck_layer *inner, ck_layer **out)
{
    ((td_layer *)layer)->inner = inner;
    /* No input spec: the rank check is build's, with Keras' message. */
    *out = layer;
    return CK_OK;
}

ck_status ck_time_distributed(ck_layer **out, ck_layer *layer, const ck_time_distributed_opts *opts)
{
    CK_NEED(out);
    CK_NEED(layer);
    static const ck_time_distributed_opts none = {0};
    const ck_time_distributed_opts *o = opts ? opts : &none;
    ck_layer *made = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_time_distributed_class, o, &made));
    ck_layer_retain(layer);
    return finish(made, layer, out);
}

static ck_status td_from_config(const json_t *c, ck_layer **out)
{
    static const char *const known[] = {"layer", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "TimeDistributed config must be a JSON object");
    ck_layer *inner = NULL, *layer = NULL;
    CK_TRY(ck_wrap_inner_from_config("TimeDistributed", c, "layer", &inner));
    ck_status st = ck_layer_create_from_config(&ck_time_distributed_class, c, known, &layer);
    if (st != CK_OK) {
        ck_layer_free(inner);
        return st;
    }
    return finish(layer, inner, out);
}

/* (batch*time,) + the shape after the time axis; -1 when either is
 * unknown. */
static ck_shape inner_input_shape(const ck_shape *in)
{
    ck_shape s = {in->rank - 1, {0}};
    s.dims[0] = in->dims[0] < 0 || in->dims[1] < 0 ? -1 : in->dims[0] * in->dims[1];
    for (int i = 2; i < in->rank; i++) s.dims[i - 1] = in->dims[i];
    return s;
}

static ck_status check_rank(const ck_layer *layer, const ck_shape *in)
{
    char buf[128];
    if (in->rank < 3)
        return ck_error(CK_VALUE_ERROR, "`TimeDistributed` Layer should be passed an `input_shape ` with at least 3 "
                        "dimensions, received: %s (layer \"%s\")", ck_shape_fmt(buf, sizeof buf, in), layer->name);
    return CK_OK;
}

static ck_status td_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const td_layer *t = (const td_layer *)layer;
    (void)n;
    CK_TRY(check_rank(layer, in));
    ck_shape is = inner_input_shape(in), os;
    is.dims[0] = -1;
    CK_TRY(ck_layer_compute_output_shape(t->inner, 1, &is, &os));
    if (os.rank + 1 > CK_MAX_RANK)
        return ck_error(CK_NOT_IMPLEMENTED, "TimeDistributed \"%s\": the output would exceed rank %d", layer->name,
                        CK_MAX_RANK);
    out->rank = os.rank + 1;
    out->dims[0] = in->dims[0];
    out->dims[1] = in->dims[1];
    for (int i = 1; i < os.rank; i++) out->dims[i + 1] = os.dims[i];
    return CK_OK;
}

static ck_status td_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    td_layer *t = (td_layer *)layer;
    CK_TRY(check_rank(layer, &shapes[0]));
    ck_shape is = inner_input_shape(&shapes[0]);
    is.dims[0] = -1;
    CK_TRY(ck_layer_build(t->inner, 1, &is));
    /* tf.keras names a wrapped layer's variables after the wrapper; a
     * nested model's layers keep their own names. */
    if (!ck_layer_as_model(t->inner)) CK_TRY(ck_wrap_rename_weights(t->inner, layer->name, 1));
    ck_shape ignored;
    return td_output_shape(layer, n, shapes, &ignored);
}

static int td_sublayer_count(const ck_layer *layer) { (void)layer; return 1; }
static ck_layer *td_sublayer(const ck_layer *layer, int i) { (void)i; return ((const td_layer *)layer)->inner; }
static void td_destroy(ck_layer *layer)
{
    td_layer *t = (td_layer *)layer;
    if (t->inner) ck_layer_free(t->inner);
}

static ck_status td_get_config(const ck_layer *layer, json_t *j)
{
    json_t *inner = NULL;
    CK_TRY(ck_layer_config_json(((const td_layer *)layer)->inner, &inner));
    return ck_json_set(j, "layer", inner);
}

static int td_archive_var(const ck_layer *layer, int i, char *group, size_t n)
{
    ck_layer *inner = ((const td_layer *)layer)->inner;
    /* A wrapped model's weights sit below "layer/layers/<its layer>". */
    ck_model *nested = ck_layer_as_model(inner);
    if (nested) return ck_wrap_model_archive_var(nested, i, "layer", group, n);
    return ck_wrap_archive_var(inner, i, "layer", group, n);
}

ck_model *ck_model_archive_wrapped(const ck_layer *layer, const char **group)
{
    if (layer->cls != &ck_time_distributed_class) return NULL;
    *group = "layer";
    return ck_layer_as_model(((const td_layer *)layer)->inner);
}

/* The inner views of a call: (batch*time, ...) in and out. */
typedef struct td_views {
    ck_shape is, os;
    ck_tensor x, y;
} td_views;

static ck_status views_of(const td_layer *t, const ck_tensor *in, const ck_tensor *out, td_views *v)
{
    ck_shape s = ck_tensor_shape(in), o = ck_tensor_shape(out);
    v->is = inner_input_shape(&s);
    v->os = (ck_shape){o.rank - 1, {0}};
    v->os.dims[0] = o.dims[0] * o.dims[1];
    for (int i = 2; i < o.rank; i++) v->os.dims[i - 1] = o.dims[i];
    v->x = ck_wrap_view(in->dtype, &v->is, in->data);
    v->y = ck_wrap_view(out->dtype, &v->os, out->data);
    (void)t;
    return CK_OK;
}

static ck_shape inner_output_of(const ck_shape *out)
{
    ck_shape os = {out->rank - 1, {0}};
    os.dims[0] = out->dims[0] < 0 || out->dims[1] < 0 ? -1 : out->dims[0] * out->dims[1];
    for (int i = 2; i < out->rank; i++) os.dims[i - 1] = out->dims[i];
    return os;
}

static size_t td_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)n;
    ck_shape is = inner_input_shape(in), os = inner_output_of(out);
    return ck_layer_call_scratch_bytes(((const td_layer *)layer)->inner, 1, &is, &os);
}

static ck_status td_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                                 void *scratch)
{
    td_layer *t = (td_layer *)layer;
    td_views v;
    (void)n;
    CK_TRY(views_of(t, in[0], out[0], &v));
    return ck_wrap_call(t->inner, &v.x, &v.y, scratch);
}

static size_t td_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)n;
    ck_shape is = inner_input_shape(in), os = inner_output_of(out);
    return ck_layer_saved_bytes(((const td_layer *)layer)->inner, 1, &is, &os);
}

static ck_status td_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               ck_tensor *const *out, void *saved)
{
    td_layer *t = (td_layer *)layer;
    td_views v;
    (void)n;
    CK_TRY(views_of(t, in[0], out[0], &v));
    return ck_wrap_train_call(t->inner, ctx, &v.x, &v.y, saved);
}

static ck_status td_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                             const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    td_layer *t = (td_layer *)layer;
    td_views v;
    (void)n;
    CK_TRY(views_of(t, in[0], out, &v));
    ck_tensor dy = ck_wrap_view(dout->dtype, &v.os, dout->data), dx;
    ck_tensor *dxp = NULL;
    if (din && din[0]) {
        dx = ck_wrap_view(din[0]->dtype, &v.is, din[0]->data);
        dxp = &dx;
    }
    return ck_wrap_backward(t->inner, ctx, &v.x, &v.y, &dy, saved, dxp);
}

static ck_dtype td_output_dtype(const ck_layer *layer, int n, const ck_dtype *in)
{
    return ck_layer_output_dtype(((const td_layer *)layer)->inner, n, in);
}

const ck_layer_class ck_time_distributed_class = {
    .class_name = "TimeDistributed",
    .size = sizeof(td_layer),
    .arity = CK_ONE_INPUT,
    .no_autocast = 1, /* the inner layer casts (an Embedding takes indices) */
    .supports_masking = 1,
    .build = td_build,
    .call = ck_layer_call_own_scratch,
    .compute_output_shape = td_output_shape,
    .output_dtype = td_output_dtype,
    .get_config = td_get_config,
    .from_config = td_from_config,
    .sublayer_count = td_sublayer_count,
    .sublayer = td_sublayer,
    .destroy = td_destroy,
    .saved_bytes = td_saved_bytes,
    .train_call = td_train_call,
    .backward = td_backward,
    .call_scratch_bytes = td_scratch_bytes,
    .call_scratch = td_call_scratch,
    .archive_var = td_archive_var,
};
