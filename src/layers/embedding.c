/* keras.layers.Embedding: a lookup of rows of the (input_dim, output_dim)
 * embeddings matrix by integer index.  Output dtype is the layer dtype
 * whatever the index dtype; mask_zero gives an input != 0 mask. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer_args.h"

typedef struct ck_embedding_layer {
    ck_layer base;
    int64_t input_dim, output_dim;
    int mask_zero;
    int n_lengths;                 /* -1: input_length None; 0: an int; >0: a list */
    int64_t lengths[CK_MAX_RANK];  /* -1 = None entries */
    ck_initializer *initializer;
    ck_regularizer *regularizer;
    ck_constraint *constraint;
    ck_weight *embeddings;
} ck_embedding_layer;

typedef struct embedding_args {
    int64_t input_dim, output_dim;
    int mask_zero;
    int n_lengths;
    int64_t lengths[CK_MAX_RANK];
    ck_initializer *initializer;
    ck_regularizer *regularizer;
    ck_constraint *constraint;
} embedding_args;

static void args_free(embedding_args *a)
{
    ck_initializer_free(a->initializer);
    ck_regularizer_free(a->regularizer);
    ck_constraint_free(a->constraint);
}

static void embedding_destroy(ck_layer *layer)
{
    ck_embedding_layer *e = (ck_embedding_layer *)layer;
    ck_initializer_free(e->initializer);
    ck_regularizer_free(e->regularizer);
    ck_constraint_free(e->constraint);
}

static ck_status embedding_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ck_embedding_layer *e = (ck_embedding_layer *)layer;
    (void)n, (void)shapes;
    ck_shape s = {2, {e->input_dim, e->output_dim}};
    return ck_layer_add_weight_with(layer, "embeddings", &s, layer->dtype, e->initializer, e->regularizer,
                                    e->constraint, true, &e->embeddings);
}

static void lengths_fmt(const ck_embedding_layer *e, char *buf, size_t n)
{
    if (e->n_lengths == 0) snprintf(buf, n, "%lld", (long long)e->lengths[0]);
    else ck_arg_list_fmt(buf, n, e->lengths, e->n_lengths);
}

static ck_status embedding_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_embedding_layer *e = (const ck_embedding_layer *)layer;
    char a[64], b[128];
    (void)n;
    if (in[0].rank + 1 > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Embedding \"%s\": an input of rank %d gives an output above rank %d",
                        layer->name, in[0].rank, CK_MAX_RANK);
    ck_shape r = in[0];
    if (e->n_lengths >= 0) {
        int nl = e->n_lengths == 0 ? 1 : e->n_lengths;
        if (nl != in[0].rank - 1)
            goto bad_length;
        for (int i = 0; i < nl; i++) {
            int64_t s1 = e->lengths[i], s2 = in[0].dims[i + 1];
            if (s1 >= 0 && s2 >= 0 && s1 != s2) goto bad_length;
            r.dims[i + 1] = s1 >= 0 ? s1 : s2;
        }
    }
    r.dims[r.rank++] = e->output_dim;
    *out = r;
    return CK_OK;
bad_length:
    lengths_fmt(e, a, sizeof a);
    return ck_error(CK_VALUE_ERROR, "\"input_length\" is %s, but received input has shape %s (layer \"%s\")", a,
                    ck_shape_fmt(b, sizeof b, &in[0]), layer->name);
}

static ck_dtype embedding_output_dtype(const ck_layer *layer, int n, const ck_dtype *in)
{
    (void)n, (void)in;
    return layer->dtype;
}

/* Flat position i of a tensor of shape `s` written as "0,1" for the
 * InvalidArgumentError text. */
static void index_fmt(const ck_tensor *t, int64_t i, char *buf, size_t n)
{
    int64_t idx[CK_MAX_RANK];
    for (int d = t->rank - 1; d >= 0; d--) {
        idx[d] = t->shape[d] > 0 ? i % t->shape[d] : 0;
        i = t->shape[d] > 0 ? i / t->shape[d] : 0;
    }
    size_t k = 0;
    buf[0] = '\0';
    for (int d = 0; d < t->rank && k < n; d++) k += (size_t)snprintf(buf + k, n - k, d ? ",%lld" : "%lld", (long long)idx[d]);
}

/* The row index of element i, as tf.cast(inputs, "int32") gives it for
 * floats (int32 / int64 are used as they are); 0 when out of range. */
static int read_index(const ck_tensor *x, int64_t i, int64_t dim, int64_t *row, double *shown)
{
    double v = 0;
    int64_t k = 0;
    switch (x->dtype) {
    case CK_INT32: k = ((const int32_t *)x->data)[i]; v = (double)k; break;
    case CK_INT64: k = ((const int64_t *)x->data)[i]; v = (double)k; break;
    case CK_FLOAT32: v = ((const float *)x->data)[i]; goto from_float;
    case CK_FLOAT64: v = ((const double *)x->data)[i]; goto from_float;
    }
    goto check;
from_float:
    /* NaN and values beyond int32 have no defined cast: report them. */
    if (!(v > -2147483649.0 && v < 2147483648.0)) {
        *shown = v;
        return 0;
    }
    k = (int64_t)v;
check:
    *shown = (double)k;
    if (k < 0 || k >= dim) return 0;
    *row = k;
    return 1;
}

static ck_status embedding_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const ck_embedding_layer *e = (const ck_embedding_layer *)layer;
    const ck_tensor *x = in[0], *table = e->embeddings->value;
    ck_tensor *out = outs[0];
    (void)n;
    /* Validate every index first so that nothing is written on error. */
    for (int64_t i = 0; i < x->size; i++) {
        int64_t row;
        double shown;
        if (!read_index(x, i, e->input_dim, &row, &shown)) {
            char pos[96], val[40];
            index_fmt(x, i, pos, sizeof pos);
            if (shown == floor(shown) && fabs(shown) < 9.0e15) snprintf(val, sizeof val, "%lld", (long long)shown);
            else snprintf(val, sizeof val, "%g", shown);
            return ck_error(CK_VALUE_ERROR, "Embedding \"%s\": indices[%s] = %s is not in [0, %lld) "
                            "(input_dim=%lld)", layer->name, pos, val, (long long)e->input_dim,
                            (long long)e->input_dim);
        }
    }
    size_t es = ck_dtype_size(out->dtype), row_bytes = (size_t)e->output_dim * es;
    const char *src = table->data;
    char *dst = out->data;
    int same = table->dtype == out->dtype;
    for (int64_t i = 0; i < x->size; i++) {
        int64_t row = 0;
        double shown;
        read_index(x, i, e->input_dim, &row, &shown);
        if (same) {
            memcpy(dst + (size_t)i * row_bytes, src + (size_t)row * row_bytes, row_bytes);
        } else {
            for (int64_t j = 0; j < e->output_dim; j++) {
                double v = ck_tensor_get(table, row * e->output_dim + j);
                if (out->dtype == CK_FLOAT32) ((float *)out->data)[i * e->output_dim + j] = (float)v;
                else ((double *)out->data)[i * e->output_dim + j] = v;
            }
        }
    }
    return CK_OK;
}

/* Scatter-add of dout's rows into the embeddings' gradient (a repeated
 * index adds up, as TF's IndexedSlices do).  The indices have no gradient
 * (TF's cast to int32 stops it): a din given for float indices gets zeros. */
static ck_status embedding_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                    const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_embedding_layer *e = (const ck_embedding_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *g = e->embeddings->grad;
    (void)ctx, (void)n, (void)out, (void)saved;
    if (din && din[0]) memset(din[0]->data, 0, (size_t)din[0]->size * ck_dtype_size(din[0]->dtype));
    if (!g) return CK_OK;
    int64_t D = e->output_dim;
    for (int64_t i = 0; i < x->size; i++) {
        int64_t row = 0;
        double shown;
        if (!read_index(x, i, e->input_dim, &row, &shown)) continue; /* the forward rejected it */
        if (g->dtype == CK_FLOAT32) {
            float *gr = (float *)g->data + row * D;
            for (int64_t j = 0; j < D; j++) gr[j] += (float)ck_tensor_get(dout, i * D + j);
        } else {
            double *gr = (double *)g->data + row * D;
            for (int64_t j = 0; j < D; j++) gr[j] += ck_tensor_get(dout, i * D + j);
        }
    }
    return CK_OK;
}

static ck_status embedding_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                                const ck_tensor *const *masks, ck_tensor **out)
{
    const ck_embedding_layer *e = (const ck_embedding_layer *)layer;
    (void)n, (void)masks;
    if (!e->mask_zero) {
        *out = NULL; /* Embedding.compute_mask ignores any incoming mask. */
        return CK_OK;
    }
    ck_tensor *m = NULL;
    CK_TRY(ck_tensor_new_uninit(&m, CK_INT32, in[0]->rank, in[0]->shape));
    for (int64_t i = 0; i < m->size; i++) ((int32_t *)m->data)[i] = ck_tensor_get(in[0], i) != 0;
    *out = m;
    return CK_OK;
}

/* In graphs: mask_zero makes a mask of the indices' shape (index != 0). */
static int embedding_mask_rule(const ck_layer *layer)
{
    return ((const ck_embedding_layer *)layer)->mask_zero ? CK_MASK_MAKE : CK_MASK_NONE;
}

static ck_shape embedding_mask_shape(const ck_layer *layer, const ck_shape *in0)
{
    (void)layer;
    return *in0;
}

static ck_status embedding_make_mask(const ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *mask)
{
    (void)layer, (void)n;
    for (int64_t i = 0; i < mask->size; i++) ((int32_t *)mask->data)[i] = ck_tensor_get(in[0], i) != 0;
    return CK_OK;
}

static ck_status embedding_get_config(const ck_layer *layer, json_t *c)
{
    const ck_embedding_layer *e = (const ck_embedding_layer *)layer;
    json_t *len;
    if (e->n_lengths < 0) {
        len = json_null();
    } else if (e->n_lengths == 0) {
        len = json_integer(e->lengths[0]);
    } else {
        ck_shape s = {e->n_lengths, {0}};
        memcpy(s.dims, e->lengths, sizeof s.dims);
        len = ck_arg_dims_json(&s);
    }
    ck_status st = ck_json_set(c, "input_dim", json_integer(e->input_dim));
    if (st == CK_OK) st = ck_json_set(c, "output_dim", json_integer(e->output_dim));
    if (st == CK_OK) st = ck_json_set(c, "embeddings_initializer", ck_initializer_to_json(e->initializer));
    if (st == CK_OK) st = ck_json_set(c, "embeddings_regularizer", ck_regularizer_to_json(e->regularizer));
    if (st == CK_OK)
        st = ck_json_set(c, "activity_regularizer", ck_regularizer_to_json(layer->activity_regularizer));
    if (st == CK_OK) st = ck_json_set(c, "embeddings_constraint", ck_constraint_to_json(e->constraint));
    if (st == CK_OK) st = ck_json_set(c, "mask_zero", json_boolean(e->mask_zero));
    if (st == CK_OK) st = ck_json_set(c, "input_length", len);
    else json_decref(len);
    return st;
}

static ck_status check_dims(int64_t input_dim, int64_t output_dim)
{
    if (input_dim <= 0 || output_dim <= 0)
        return ck_error(CK_VALUE_ERROR, "Both `input_dim` and `output_dim` should be positive, Received input_dim = "
                        "%lld and output_dim = %lld", (long long)input_dim, (long long)output_dim);
    return CK_OK;
}

/* Defaults, then hands the arguments to the layer.  tf.keras records
 * input_shape = (input_length,) or (None,) when none was given. */
static ck_status embedding_finish(ck_layer *layer, embedding_args *a)
{
    ck_embedding_layer *e = (ck_embedding_layer *)layer;
    if (!a->initializer) CK_TRY(ck_initializer_new(&a->initializer, "uniform"));
    if (!layer->has_batch_input_shape) {
        int nl = a->n_lengths > 0 ? a->n_lengths : 1;
        if (nl + 1 > CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "Embedding: input_length has %d entries; at most %d", nl, CK_MAX_RANK - 1);
        layer->has_batch_input_shape = 1;
        layer->batch_input_shape.rank = nl + 1;
        layer->batch_input_shape.dims[0] = -1;
        for (int i = 0; i < nl; i++)
            layer->batch_input_shape.dims[i + 1] =
                a->n_lengths < 0 ? -1 : (a->lengths[i] > 0 ? a->lengths[i] : -1);
    }
    e->input_dim = a->input_dim;
    e->output_dim = a->output_dim;
    e->mask_zero = a->mask_zero;
    e->n_lengths = a->n_lengths;
    memcpy(e->lengths, a->lengths, sizeof e->lengths);
    e->initializer = a->initializer;
    e->regularizer = a->regularizer;
    e->constraint = a->constraint;
    memset(a, 0, sizeof *a);
    return CK_OK;
}

ck_status ck_embedding(ck_layer **out, const ck_embedding_opts *o)
{
    CK_NEED(out);
    if (!o) return ck_error(CK_VALUE_ERROR, "Embedding: options are required (input_dim, output_dim)");
    CK_TRY(check_dims(o->input_dim, o->output_dim));
    if (o->input_length < 0)
        return ck_error(CK_VALUE_ERROR, "Embedding: input_length must be >= 0 (0 = None), got %lld",
                        (long long)o->input_length);
    embedding_args a = {.input_dim = o->input_dim, .output_dim = o->output_dim, .mask_zero = o->mask_zero,
                        .n_lengths = o->input_length > 0 ? 0 : -1, .lengths = {o->input_length}};
    ck_status st = CK_OK;
    if (o->embeddings_initializer) st = ck_initializer_new(&a.initializer, o->embeddings_initializer);
    if (st == CK_OK && o->embeddings_regularizer) st = ck_regularizer_new(&a.regularizer, o->embeddings_regularizer);
    if (st == CK_OK && o->embeddings_constraint) st = ck_constraint_new(&a.constraint, o->embeddings_constraint);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = CK_ARG_CREATE(&ck_embedding_class, o, &layer);
    if (st == CK_OK) st = embedding_finish(layer, &a);
    args_free(&a);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

static ck_status read_lengths(const json_t *v, embedding_args *a)
{
    a->n_lengths = -1;
    if (!v || json_is_null(v)) return CK_OK;
    if (json_is_integer(v)) {
        a->n_lengths = 0;
        a->lengths[0] = json_integer_value(v);
        return CK_OK;
    }
    ck_shape s;
    int has = 0;
    CK_TRY(ck_arg_shape(v, "Embedding", "input_length", &s, &has));
    if (s.rank + 1 > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Embedding config: input_length has %d entries; at most %d", s.rank,
                        CK_MAX_RANK - 1);
    a->n_lengths = s.rank;
    memcpy(a->lengths, s.dims, sizeof a->lengths);
    return CK_OK;
}

static ck_status embedding_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {
        "output_dim", "embeddings_initializer", "embeddings_regularizer", "embeddings_constraint", "mask_zero",
        "input_length", "sparse", "input_dtype",
        /* Keras 1 */
        "init", "W_regularizer", "W_constraint", "dropout",
        /* Keras 3 */
        "lora_rank", "lora_alpha", "quantization_config", NULL};
    embedding_args a = {.input_dim = -1, .output_dim = -1};
    CK_TRY(ck_arg_int(json_object_get(c, "input_dim"), "Embedding", "input_dim", &a.input_dim, NULL));
    CK_TRY(ck_arg_int(json_object_get(c, "output_dim"), "Embedding", "output_dim", &a.output_dim, NULL));
    if (!json_object_get(c, "input_dim") || !json_object_get(c, "output_dim"))
        return ck_error(CK_TYPE_ERROR, "Embedding config: `input_dim` and `output_dim` are required");
    CK_TRY(check_dims(a.input_dim, a.output_dim));
    CK_TRY(ck_arg_bool(json_object_get(c, "mask_zero"), "Embedding", "mask_zero", &a.mask_zero));
    int sparse = 0;
    CK_TRY(ck_arg_bool(json_object_get(c, "sparse"), "Embedding", "sparse", &sparse));
    if (sparse) return ck_error(CK_NOT_IMPLEMENTED, "Embedding with sparse=True (tf.SparseTensor output)");
    const json_t *lora = json_object_get(c, "lora_rank"), *quant = json_object_get(c, "quantization_config");
    if ((lora && !json_is_null(lora)) || (quant && !json_is_null(quant)))
        return ck_error(CK_NOT_IMPLEMENTED, "Embedding with LoRA or quantization is not supported");
    CK_TRY(read_lengths(json_object_get(c, "input_length"), &a));

    /* The base reads "input_dim" as Keras' input_shape=(input_dim,)
     * shorthand; for Embedding it is the vocabulary size, so the base gets
     * a copy of the config without it. */
    json_t *base_cfg = json_copy((json_t *)c);
    if (!base_cfg) return ck_oom("an Embedding config");
    json_object_del(base_cfg, "input_dim");

    ck_status st = ck_initializer_from_json(ck_arg_get2(c, "embeddings_initializer", "init"), &a.initializer);
    if (st == CK_OK)
        st = ck_regularizer_from_json(ck_arg_get2(c, "embeddings_regularizer", "W_regularizer"), &a.regularizer);
    if (st == CK_OK)
        st = ck_constraint_from_json(ck_arg_get2(c, "embeddings_constraint", "W_constraint"), &a.constraint);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = ck_layer_create_from_config(&ck_embedding_class, base_cfg, keys, &layer);
    if (st == CK_OK) st = embedding_finish(layer, &a);
    json_decref(base_cfg);
    args_free(&a);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_embedding_class = {
    .class_name = "Embedding",
    .size = sizeof(ck_embedding_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .build = embedding_build,
    .compute_output_shape = embedding_output_shape,
    .output_dtype = embedding_output_dtype,
    /* float indices are read as they are (tf.keras casts them straight to
     * int32; a float32 detour would lose indices above 2^24) */
    .no_autocast = 1,
    .call = embedding_call,
    .backward = embedding_backward,
    .compute_mask = embedding_mask,
    .get_config = embedding_get_config,
    .from_config = embedding_from_config,
    .destroy = embedding_destroy,
    .mask_rule = embedding_mask_rule,
    .made_mask_shape = embedding_mask_shape,
    .make_mask = embedding_make_mask,
};
