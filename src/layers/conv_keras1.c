/* Keras 1's convolution classes, read as the modern layers:
 * Convolution1D and AtrousConvolution1D -> Conv1D, AtrousConvolution2D ->
 * Conv2D, Deconvolution2D -> Conv2DTranspose, SeparableConvolution2D ->
 * SeparableConv2D, Convolution3D -> Conv3D.  Their configs are rewritten
 * to the Keras 2 keys (what Keras 2's legacy support did) and handed to
 * the modern class, which then writes the modern form.  The kernels of
 * Keras 1 files are converted when the weights load
 * (ck_conv_keras1_kernel, called by io/model_files.c). */
#include <string.h>

#include "layers/conv2d.h"
#include "layers/conv_layer.h"

/* Moves config[from] to out[to] (a new reference), when present. */
static int rename_key(json_t *out, const json_t *config, const char *from, const char *to)
{
    json_t *v = json_object_get(config, from);
    if (!v) return 0;
    return json_object_set(out, to, v);
}

/* [a] or [a, b] or [a, b, c] from the Keras 1 keys that are present. */
static int tuple_key(json_t *out, const json_t *config, const char *to, const char *const *from, int n)
{
    json_t *list = NULL;
    for (int i = 0; i < n; i++) {
        const json_t *v = json_object_get(config, from[i]);
        if (!v) continue;
        if (!list && !(list = json_array())) return -1;
        if (json_array_append(list, (json_t *)v) != 0) {
            json_decref(list);
            return -1;
        }
    }
    if (!list) return 0;
    if ((int)json_array_size(list) != n) {
        json_decref(list);
        return 0; /* partial: left for the modern parser's messages */
    }
    return json_object_set_new(out, to, list);
}

/* The Keras 2 form of a Keras 1 convolution config (new reference). */
static ck_status translate(const json_t *c, const char *cls, json_t **out)
{
    static const char *const dropped[] = {"nb_filter", "filter_length", "nb_row", "nb_col", "kernel_dim1",
                                          "kernel_dim2", "kernel_dim3", "subsample_length", "subsample",
                                          "border_mode", "dim_ordering", "init", "bias", "W_regularizer",
                                          "b_regularizer", "W_constraint", "b_constraint", "atrous_rate",
                                          "output_shape", "weights", "input_length", "input_dim", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", cls);
    json_t *j = json_object();
    if (!j) return ck_oom("a Keras 1 config");
    const char *key;
    json_t *value;
    int bad = 0;
    json_object_foreach((json_t *)c, key, value) {
        int skip = 0;
        for (const char *const *d = dropped; *d; d++) skip |= strcmp(key, *d) == 0;
        if (!skip) bad |= json_object_set(j, key, value);
    }
    static const char *const k1[] = {"filter_length"}, *const k2[] = {"nb_row", "nb_col"},
                             *const k3[] = {"kernel_dim1", "kernel_dim2", "kernel_dim3"};
    bad |= rename_key(j, c, "nb_filter", "filters");
    bad |= tuple_key(j, c, "kernel_size", k1, 1) | tuple_key(j, c, "kernel_size", k2, 2) |
           tuple_key(j, c, "kernel_size", k3, 3);
    static const char *const s1[] = {"subsample_length"};
    bad |= tuple_key(j, c, "strides", s1, 1) | rename_key(j, c, "subsample", "strides");
    bad |= rename_key(j, c, "border_mode", "padding");
    const json_t *atrous = json_object_get(c, "atrous_rate");
    if (json_is_integer(atrous)) {
        json_t *l = json_pack("[O]", atrous);
        bad |= !l || json_object_set_new(j, "dilation_rate", l);
    } else {
        bad |= rename_key(j, c, "atrous_rate", "dilation_rate");
    }
    const json_t *dim = json_object_get(c, "dim_ordering");
    if (json_is_string(dim)) {
        const char *d = json_string_value(dim);
        if (strcmp(d, "th") == 0) bad |= json_object_set_new(j, "data_format", json_string("channels_first"));
        else if (strcmp(d, "tf") == 0 || strcmp(d, "default") == 0)
            bad |= json_object_set_new(j, "data_format", json_string("channels_last"));
        else bad |= json_object_set(j, "data_format", (json_t *)dim); /* the modern parser's message */
    }
    bad |= rename_key(j, c, "bias", "use_bias");
    bad |= rename_key(j, c, "W_regularizer", "kernel_regularizer");
    bad |= rename_key(j, c, "b_regularizer", "bias_regularizer");
    bad |= rename_key(j, c, "W_constraint", "kernel_constraint");
    bad |= rename_key(j, c, "b_constraint", "bias_constraint");
    if (strcmp(cls, "SeparableConvolution2D") == 0) {
        /* One `init` served both kernels. */
        bad |= rename_key(j, c, "init", "depthwise_initializer") | rename_key(j, c, "init", "pointwise_initializer");
    } else {
        bad |= rename_key(j, c, "init", "kernel_initializer");
    }
    /* Keras 1's Convolution1D(input_dim, input_length) is an input shape of
     * (input_length, input_dim). */
    const json_t *idim = json_object_get(c, "input_dim"), *bis = json_object_get(c, "batch_input_shape");
    if (idim && !json_is_null(idim) && (!bis || json_is_null(bis))) {
        const json_t *len = json_object_get(c, "input_length");
        json_t *shape = json_pack("[nOO]", len && !json_is_null(len) ? len : json_null(), idim);
        bad |= !shape || json_object_set_new(j, "batch_input_shape", shape);
    }
    if (bad) {
        json_decref(j);
        return ck_oom("a Keras 1 config");
    }
    *out = j;
    return CK_OK;
}

static ck_status from_keras1(const json_t *c, const char *cls, const ck_layer_class *modern, ck_layer **out)
{
    json_t *j = NULL;
    CK_TRY(translate(c, cls, &j));
    ck_status st = modern->from_config(j, out);
    json_decref(j);
    return st;
}

#define CK_KERAS1_CONV(var, name, modern, fn)                                                                  \
    static ck_status fn(const json_t *c, ck_layer **out) { return from_keras1(c, name, &(modern), out); }     \
    const ck_layer_class var = {.class_name = name, .size = sizeof(ck_conv_layer), .arity = CK_ONE_INPUT,     \
                                .from_config = fn};

CK_KERAS1_CONV(ck_convolution1d_legacy_class, "Convolution1D", ck_conv1d_class, convolution1d_from_config)
CK_KERAS1_CONV(ck_atrous_convolution1d_legacy_class, "AtrousConvolution1D", ck_conv1d_class,
               atrous_convolution1d_from_config)
CK_KERAS1_CONV(ck_atrous_convolution2d_legacy_class, "AtrousConvolution2D", ck_conv2d_class,
               atrous_convolution2d_from_config)
CK_KERAS1_CONV(ck_deconvolution2d_legacy_class, "Deconvolution2D", ck_conv2d_transpose_class,
               deconvolution2d_from_config)
CK_KERAS1_CONV(ck_separable_convolution2d_legacy_class, "SeparableConvolution2D", ck_separable_conv2d_class,
               separable_convolution2d_from_config)
CK_KERAS1_CONV(ck_convolution3d_legacy_class, "Convolution3D", ck_conv3d_class, convolution3d_from_config)

/* ---- Keras 1 kernels --------------------------------------------------------------- */

/* A new tensor: t's axes permuted (out axis i = t axis perm[i]). */
static ck_status permuted(const ck_tensor *t, const int *perm, ck_tensor **out)
{
    int64_t shape[CK_MAX_RANK], stride[CK_MAX_RANK], ostride[CK_MAX_RANK];
    for (int i = 0; i < t->rank; i++) shape[i] = t->shape[perm[i]];
    CK_TRY(ck_tensor_new(out, t->dtype, t->rank, shape));
    const size_t es = ck_dtype_size(t->dtype);
    stride[t->rank - 1] = 1;
    for (int i = t->rank - 2; i >= 0; i--) stride[i] = stride[i + 1] * t->shape[i + 1];
    ostride[t->rank - 1] = 1;
    for (int i = t->rank - 2; i >= 0; i--) ostride[i] = ostride[i + 1] * shape[i + 1];
    for (int64_t o = 0; o < t->size; o++) {
        int64_t src = 0, rest = o;
        for (int i = 0; i < t->rank; i++) {
            src += (rest / ostride[i]) * stride[perm[i]];
            rest %= ostride[i];
        }
        memcpy((char *)(*out)->data + (size_t)o * es, (const char *)t->data + (size_t)src * es, es);
    }
    return CK_OK;
}

/* conv_utils.convert_kernel: reverses every axis but the last two (the
 * spatial axes of a tf-layout kernel), in place. */
static void flip_spatial(ck_tensor *t)
{
    const size_t es = ck_dtype_size(t->dtype);
    int64_t inner = t->shape[t->rank - 1] * t->shape[t->rank - 2], outer = t->size / (inner ? inner : 1);
    int64_t dims[CK_MAX_RANK];
    for (int i = 0; i < t->rank - 2; i++) dims[i] = t->shape[i];
    char tmp[8];
    for (int64_t p = 0; p < outer; p++) {
        /* The mirror of position p: every spatial index reversed. */
        int64_t q = 0, rest = p, stride = outer;
        for (int i = 0; i < t->rank - 2; i++) {
            stride /= dims[i];
            int64_t idx = rest / stride;
            rest %= stride;
            q += (dims[i] - 1 - idx) * stride;
        }
        if (q <= p) continue;
        for (int64_t k = 0; k < inner; k++) {
            char *a = (char *)t->data + (size_t)(p * inner + k) * es, *b = (char *)t->data + (size_t)(q * inner + k) * es;
            memcpy(tmp, a, es);
            memcpy(a, b, es);
            memcpy(b, tmp, es);
        }
    }
}

ck_status ck_conv_keras1_kernel(const ck_layer *layer, int theano, ck_tensor **kernel)
{
    const ck_tensor *t = *kernel;
    ck_tensor *conv = NULL;
    int cf = 0, handled = 1;
    if (layer->cls == &ck_conv2d_class) cf = ((const ck_conv2d_layer *)layer)->channels_first;
    else if (layer->cls == &ck_conv1d_class || layer->cls == &ck_conv3d_class ||
             layer->cls == &ck_conv2d_transpose_class || layer->cls == &ck_conv2d_grouped_class)
        cf = ((const ck_conv_layer *)layer)->a.channels_first;
    else handled = 0;
    if (!handled || !t) return CK_OK;
    if (layer->cls == &ck_conv1d_class && t->rank == 4) {
        /* (k, 1, in, filters), or the Theano order (filters, in, k, 1). */
        static const int th[4] = {2, 3, 1, 0};
        ck_tensor *k4 = NULL;
        if (t->shape[1] == 1 && t->shape[0] != 1) CK_TRY(ck_tensor_copy(&k4, t));
        else CK_TRY(permuted(t, th, &k4));
        int64_t shape[3] = {k4->shape[0], k4->shape[2], k4->shape[3]};
        ck_status st = ck_tensor_new(&conv, k4->dtype, 3, shape);
        if (st == CK_OK) memcpy(conv->data, k4->data, (size_t)k4->size * ck_dtype_size(k4->dtype));
        ck_tensor_free(k4);
        CK_TRY(st);
    } else if (layer->cls == &ck_conv2d_transpose_class && t->rank == 4) {
        static const int last[4] = {0, 1, 3, 2}, first[4] = {2, 3, 0, 1};
        CK_TRY(permuted(t, cf ? first : last, &conv));
    } else if (cf && t->rank == 4) {
        static const int th[4] = {2, 3, 1, 0}; /* (filters, stack, rows, cols) */
        CK_TRY(permuted(t, th, &conv));
    } else if (cf && t->rank == 5) {
        static const int th[5] = {2, 3, 4, 1, 0};
        CK_TRY(permuted(t, th, &conv));
    }
    if (!conv && theano) CK_TRY(ck_tensor_copy(&conv, t));
    if (!conv) return CK_OK;
    if (theano) flip_spatial(conv);
    ck_tensor_free(*kernel);
    *kernel = conv;
    return CK_OK;
}
