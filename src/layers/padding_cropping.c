/* keras.layers.ZeroPadding1D / 2D / 3D and Cropping1D / 2D / 3D.  Both
 * copy a box: padding places the input inside a zeroed output at the
 * "before" offsets, cropping takes the output out of the input there.
 * Each one's backward is the other's forward on dy (padding's gradient is
 * the crop of dy, cropping's is dy padded with zeros), so one box copy
 * serves all four passes; nothing is saved.  The 1D classes work on axis 1
 * of (batch, steps, features) and have no data_format, as in tf.keras. */
#include <stdio.h>
#include <string.h>

#include "layers/spatial_args.h"

typedef struct box_layer {
    ck_layer base;
    int nd, crop, channels_first;
    int64_t amount[3][2]; /* before / after per spatial dim */
} box_layer;

typedef struct box_kind {
    const ck_layer_class *cls;
    const char *name;
    int nd, crop;
    int64_t dflt; /* every side when nothing is given */
} box_kind;

static const box_kind KINDS[] = {
    {&ck_zero_padding1d_class, "ZeroPadding1D", 1, 0, 1}, {&ck_zero_padding2d_class, "ZeroPadding2D", 2, 0, 1},
    {&ck_zero_padding3d_class, "ZeroPadding3D", 3, 0, 1}, {&ck_cropping1d_class, "Cropping1D", 1, 1, 1},
    {&ck_cropping2d_class, "Cropping2D", 2, 1, 0},        {&ck_cropping3d_class, "Cropping3D", 3, 1, 1},
};

static const box_kind *kind_of(const ck_layer_class *cls)
{
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (KINDS[i].cls == cls) return &KINDS[i];
    return NULL;
}

static const char *key_of(const box_layer *b) { return b->crop ? "cropping" : "padding"; }

/* "((1, 2), (3, 4))", or "(1, 2)" for 1D, as Python prints them. */
static char *amount_fmt(char *buf, size_t n, const box_layer *b)
{
    char t[64];
    if (b->nd == 1) return ck_sp_tuple_fmt(buf, n, b->amount[0], 2);
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < b->nd && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", ck_sp_tuple_fmt(t, sizeof t, b->amount[i], 2));
    if (k < n) snprintf(buf + k, n - k, ")");
    return buf;
}

static ck_status box_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const box_layer *b = (const box_layer *)layer;
    char sh[128], am[128];
    (void)n;
    CK_TRY(ck_sp_check_rank(layer, &in[0], b->nd + 2));
    int s0 = b->channels_first ? 2 : 1;
    ck_shape r = in[0];
    for (int i = 0; i < b->nd; i++) {
        int64_t len = in[0].dims[s0 + i], sum = b->amount[i][0] + b->amount[i][1];
        if (len < 0) continue;
        if (!b->crop) {
            r.dims[s0 + i] = len + sum;
            continue;
        }
        /* Cropping1D / 2D refuse to crop everything (their call checks
         * sum >= dim); Cropping3D allows an empty output. */
        if (b->nd == 1 && sum >= len)
            return ck_error(CK_VALUE_ERROR, "cropping parameter of Cropping layer must be greater than the input "
                            "shape. Received: inputs.shape=%s, and cropping=%s", ck_shape_fmt(sh, sizeof sh, &in[0]),
                            amount_fmt(am, sizeof am, b));
        if ((b->nd == 2 && sum >= len) || sum > len)
            return ck_error(CK_VALUE_ERROR, "Argument `cropping` must be greater than the input shape. Received: "
                            "inputs.shape=%s, and cropping=%s", ck_shape_fmt(sh, sizeof sh, &in[0]),
                            amount_fmt(am, sizeof am, b));
        r.dims[s0 + i] = len - sum;
    }
    *out = r;
    return CK_OK;
}

/* Copies between `small` (every element) and the box of `big` that starts
 * at `off` (per dim, 0 off the spatial axes): into big when to_big, else
 * out of it.  Rows of the last dim move with one memcpy. */
static void copy_box(const ck_tensor *small, const ck_tensor *big, const int64_t *off, int to_big)
{
    const int r = small->rank;
    const size_t es = ck_dtype_size(small->dtype);
    const int64_t row = small->shape[r - 1];
    int64_t bstride[CK_MAX_RANK], idx[CK_MAX_RANK] = {0};
    int64_t s = 1;
    for (int d = r - 1; d >= 0; d--) {
        bstride[d] = s;
        s *= big->shape[d];
    }
    if (small->size == 0) return;
    char *sp = small->data, *bp = big->data;
    for (int64_t i = 0; i < small->size; i += row) {
        int64_t at = off[r - 1];
        for (int d = 0; d < r - 1; d++) at += (idx[d] + off[d]) * bstride[d];
        if (to_big) memcpy(bp + (size_t)at * es, sp + (size_t)i * es, (size_t)row * es);
        else memcpy(sp + (size_t)i * es, bp + (size_t)at * es, (size_t)row * es);
        for (int d = r - 2; d >= 0; d--) {
            if (++idx[d] < small->shape[d]) break;
            idx[d] = 0;
        }
    }
}

static void offsets(const box_layer *b, int rank, int64_t *off)
{
    int s0 = b->channels_first ? 2 : 1;
    for (int d = 0; d < rank; d++) off[d] = 0;
    for (int i = 0; i < b->nd; i++) off[s0 + i] = b->amount[i][0];
}

static void zero(ck_tensor *t) { memset(t->data, 0, (size_t)t->size * ck_dtype_size(t->dtype)); }

static ck_status box_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const box_layer *b = (const box_layer *)layer;
    int64_t off[CK_MAX_RANK];
    (void)n;
    offsets(b, in[0]->rank, off);
    if (b->crop) {
        copy_box(outs[0], in[0], off, 0);
    } else {
        zero(outs[0]);
        copy_box(in[0], outs[0], off, 1);
    }
    return CK_OK;
}

static ck_status box_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                              const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const box_layer *b = (const box_layer *)layer;
    ck_tensor *dx = din ? din[0] : NULL;
    int64_t off[CK_MAX_RANK];
    (void)ctx, (void)n, (void)out, (void)saved;
    if (!dx) return CK_OK;
    offsets(b, in[0]->rank, off);
    if (b->crop) {
        zero(dx);
        copy_box(dout, dx, off, 1);
    } else {
        copy_box(dx, dout, off, 0);
    }
    return CK_OK;
}

static ck_status box_get_config(const ck_layer *layer, json_t *j)
{
    const box_layer *b = (const box_layer *)layer;
    ck_status st = ck_json_set(j, key_of(b), ck_sp_pairs_to_json(b->amount, b->nd));
    if (st == CK_OK && b->nd > 1) st = ck_json_set(j, "data_format", ck_sp_data_format_to_json(b->channels_first));
    return st;
}

static void box_finish(ck_layer *layer, const box_layer *a)
{
    box_layer *b = (box_layer *)layer;
    b->nd = a->nd, b->crop = a->crop, b->channels_first = a->channels_first;
    memcpy(b->amount, a->amount, sizeof b->amount);
    layer->spec = (ck_input_spec){.ndim = a->nd + 2};
}

static ck_status box_new(const ck_layer_class *cls, const ck_opt_int amount[3][2], const char *data_format,
                         const ck_layer_opts *common, ck_layer **out)
{
    const box_kind *k = kind_of(cls);
    box_layer a = {.nd = k->nd, .crop = k->crop};
    const char *key = k->crop ? "cropping" : "padding";
    int n_set = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) {
            if (amount[i][j].set && i >= k->nd)
                return ck_error(CK_VALUE_ERROR, "%s: `%s` has %d spatial dims; entry [%d] was given", k->name, key,
                                k->nd, i);
            n_set += amount[i][j].set;
        }
    for (int i = 0; i < k->nd; i++)
        for (int j = 0; j < 2; j++) {
            /* Only the first entry given: Keras' int form, every side. */
            int64_t v = amount[i][j].set ? amount[i][j].value
                        : (n_set == 1 && amount[0][0].set) ? amount[0][0].value : k->dflt;
            if (v < 0)
                return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of 2 integers. Received: %lld "
                                "including {%lld} that does not satisfy the requirement `>= 0`.", key, (long long)v,
                                (long long)v);
            a.amount[i][j] = v;
        }
    if (k->nd == 1 && data_format)
        return ck_error(CK_TYPE_ERROR, "('Keyword argument not understood:', 'data_format') (%s)", k->name);
    CK_TRY(ck_sp_data_format(data_format, &a.channels_first));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(cls, common, &layer));
    box_finish(layer, &a);
    *out = layer;
    return CK_OK;
}

/* The common members of an option struct, copied into ck_layer_opts. */
#define COMMON_OF(o)                                                                                    \
    (&(ck_layer_opts){.name = (o)->name, .frozen = (o)->frozen, .dtype = (o)->dtype,                    \
                      .input_shape = (o)->input_shape, .batch_size = (o)->batch_size,                   \
                      .activity_regularizer = (o)->activity_regularizer})

#define PAD_CTOR(FN, CLS)                                                                               \
    ck_status FN(ck_layer **out, const ck_zero_padding_opts *o)                                        \
    {                                                                                                   \
        CK_NEED(out);                                                                                   \
        static const ck_zero_padding_opts defaults;                                                     \
        if (!o) o = &defaults;                                                                          \
        return box_new(&CLS, o->padding, o->data_format, COMMON_OF(o), out);                           \
    }
#define CROP_CTOR(FN, CLS)                                                                              \
    ck_status FN(ck_layer **out, const ck_cropping_opts *o)                                            \
    {                                                                                                   \
        CK_NEED(out);                                                                                   \
        static const ck_cropping_opts defaults;                                                         \
        if (!o) o = &defaults;                                                                          \
        return box_new(&CLS, o->cropping, o->data_format, COMMON_OF(o), out);                          \
    }

PAD_CTOR(ck_zero_padding1d, ck_zero_padding1d_class)
PAD_CTOR(ck_zero_padding2d, ck_zero_padding2d_class)
PAD_CTOR(ck_zero_padding3d, ck_zero_padding3d_class)
CROP_CTOR(ck_cropping1d, ck_cropping1d_class)
CROP_CTOR(ck_cropping2d, ck_cropping2d_class)
CROP_CTOR(ck_cropping3d, ck_cropping3d_class)

/* tf.keras 2.x / Keras 3 / Keras 1: padding or cropping (int, per-dim
 * ints, per-dim pairs; Keras 1.2's 4-list for 2D), data_format or
 * dim_ordering. */
static ck_status box_from_config_as(const ck_layer_class *cls, const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"padding", "cropping", "data_format", "dim_ordering", NULL};
    const box_kind *k = kind_of(cls);
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", k->name);
    const char *key = k->crop ? "cropping" : "padding";
    if (json_object_get(c, k->crop ? "padding" : "cropping"))
        return ck_error(CK_TYPE_ERROR, "Keyword argument not understood: '%s' (in a %s config)",
                        k->crop ? "padding" : "cropping", k->name);
    box_layer a = {.nd = k->nd, .crop = k->crop};
    for (int i = 0; i < k->nd; i++) a.amount[i][0] = a.amount[i][1] = k->dflt;
    CK_TRY(ck_sp_pairs_json(json_object_get(c, key), k->nd, k->name, key, a.amount));
    CK_TRY(ck_sp_data_format_json(c, k->name, &a.channels_first));
    if (k->nd == 1) a.channels_first = 0;
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, c, keys, &layer));
    box_finish(layer, &a);
    *out = layer;
    return CK_OK;
}

#define BOX_CLASS(VAR, NAME)                                                                            \
    static ck_status VAR##_from_config(const json_t *c, ck_layer **out)                                 \
    {                                                                                                   \
        return box_from_config_as(&VAR##_class, c, out);                                               \
    }                                                                                                   \
    const ck_layer_class VAR##_class = {                                                                \
        .class_name = NAME,                                                                             \
        .size = sizeof(box_layer),                                                                      \
        .arity = CK_ONE_INPUT,                                                                          \
        .compute_output_shape = box_output_shape,                                                       \
        .call = box_call,                                                                               \
        .get_config = box_get_config,                                                                   \
        .from_config = VAR##_from_config,                                                               \
        .backward = box_backward,                                                                       \
    };

BOX_CLASS(ck_zero_padding1d, "ZeroPadding1D")
BOX_CLASS(ck_zero_padding2d, "ZeroPadding2D")
BOX_CLASS(ck_zero_padding3d, "ZeroPadding3D")
BOX_CLASS(ck_cropping1d, "Cropping1D")
BOX_CLASS(ck_cropping2d, "Cropping2D")
BOX_CLASS(ck_cropping3d, "Cropping3D")
