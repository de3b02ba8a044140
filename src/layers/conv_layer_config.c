/* Arguments and configs of the convolution layers of conv_layer.h: the C
 * option structs, tf.keras 2.x and Keras 3 configs, Keras' constructor
 * checks (base_conv._validate_init and the transposed layers'
 * output_padding check) and get_config in tf.keras' key order. */
#include <ctype.h>
#include <string.h>

#include "layers/conv_layer.h"
#include "layers/conv_utils.h"
#include "layers/spatial_args.h"

void ck_conv_args_free(ck_conv_args *a)
{
    ck_kernel_params_free(&a->params);
    ck_initializer_free(a->dw_init);
    ck_initializer_free(a->pw_init);
    ck_regularizer_free(a->dw_reg);
    ck_regularizer_free(a->pw_reg);
    ck_constraint_free(a->dw_con);
    ck_constraint_free(a->pw_con);
    memset(a, 0, sizeof *a);
}

static const char *name_of(const ck_layer_class *cls) { return cls->class_name; }

/* normalize_padding, with "causal" where Keras allows it. */
static ck_status parse_padding(const char *s, const ck_layer_class *cls, ck_conv_kind kind, int rank,
                               ck_conv_padding *out)
{
    char buf[16];
    size_t i = 0;
    if (!s) {
        *out = CK_PAD_VALID;
        return CK_OK;
    }
    for (; s[i] && i + 1 < sizeof buf; i++) buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = '\0';
    if (strcmp(buf, "causal") == 0 && !s[i]) {
        if (rank != 1 || (kind != CK_CONV_PLAIN && kind != CK_CONV_SEPARABLE))
            return ck_error(CK_VALUE_ERROR, "Causal padding is only supported for `Conv1D`and `SeparableConv1D`. "
                            "(%s received padding=\"%s\")", name_of(cls), s);
        *out = CK_PAD_CAUSAL;
        return CK_OK;
    }
    int same = 0;
    CK_TRY(ck_conv_parse_padding(s, name_of(cls), &same));
    *out = same ? CK_PAD_SAME : CK_PAD_VALID;
    return CK_OK;
}

/* Conv._validate_init and the class-specific checks, on parsed numbers. */
static ck_status check_args(const ck_conv_args *a, ck_conv_kind kind, int rank, const char *cls)
{
    char s1[96], s2[96];
    if (kind != CK_CONV_DEPTHWISE && a->filters <= 0)
        return ck_error(CK_VALUE_ERROR, "Invalid value for argument `filters`. Expected a strictly positive value. "
                        "Received filters=%lld.", (long long)a->filters);
    if (a->groups <= 0)
        return ck_error(CK_VALUE_ERROR, "%s: `groups` must be a positive integer. Received groups=%lld", cls,
                        (long long)a->groups);
    /* tf.keras 2.15's transposed layers take `groups` (base Conv checks
     * filters against it, get_config writes it) but build the full kernel
     * and run an ungrouped transpose: accepted and kept, with no effect on
     * the numbers (tools/gen_conv_transpose_groups_goldens.py).  Keras 3
     * refuses the argument; its configs never hold it. */
    if (kind != CK_CONV_PLAIN && kind != CK_CONV_TRANSPOSE && a->groups != 1)
        return ck_error(CK_NOT_IMPLEMENTED, "%s with groups=%lld is not supported; only groups=1 is", cls,
                        (long long)a->groups);
    if (kind != CK_CONV_DEPTHWISE && a->filters % a->groups != 0)
        return ck_error(CK_VALUE_ERROR, "The number of filters must be evenly divisible by the number of groups. "
                        "Received: groups=%lld, filters=%lld", (long long)a->groups, (long long)a->filters);
    if ((kind == CK_CONV_DEPTHWISE || kind == CK_CONV_SEPARABLE) && a->depth_multiplier <= 0)
        return ck_error(CK_VALUE_ERROR, "%s: `depth_multiplier` must be a positive integer. Received "
                        "depth_multiplier=%lld", cls, (long long)a->depth_multiplier);
    int s_gt1 = 0, d_gt1 = 0;
    for (int i = 0; i < rank; i++) {
        if (a->strides[i] == 0)
            return ck_error(CK_VALUE_ERROR, "The argument `strides` cannot contains 0(s). Received: %s",
                            ck_sp_tuple_fmt(s1, sizeof s1, a->strides, rank));
        s_gt1 |= a->strides[i] > 1;
        d_gt1 |= a->dilation[i] > 1;
    }
    if (s_gt1 && d_gt1)
        return ck_error(CK_VALUE_ERROR, "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                        "Received: strides=%s and dilation_rate=%s", ck_sp_tuple_fmt(s1, sizeof s1, a->strides, rank),
                        ck_sp_tuple_fmt(s2, sizeof s2, a->dilation, rank));
    if (a->has_output_padding)
        for (int i = 0; i < rank; i++)
            if (a->strides[i] <= a->output_padding[i])
                return ck_error(CK_VALUE_ERROR, "Strides must be greater than output padding. Received strides=%s, "
                                "output_padding=%s.", ck_sp_tuple_fmt(s1, sizeof s1, a->strides, rank),
                                ck_sp_tuple_fmt(s2, sizeof s2, a->output_padding, rank));
    return CK_OK;
}

ck_status ck_conv_layer_finish(ck_layer *layer, ck_conv_args *a)
{
    ck_conv_layer *c = (ck_conv_layer *)layer;
    ck_status st = ck_kernel_params_defaults(&a->params);
    if (st == CK_OK && !a->dw_init) st = ck_initializer_new(&a->dw_init, "glorot_uniform");
    if (st == CK_OK && !a->pw_init) st = ck_initializer_new(&a->pw_init, "glorot_uniform");
    if (st != CK_OK) {
        ck_conv_args_free(a);
        return st;
    }
    ck_conv_class_info(layer->cls, &c->kind, &c->rank);
    c->a = *a;
    memset(a, 0, sizeof *a);
    layer->spec = (ck_input_spec){.min_ndim = c->kind == CK_CONV_PLAIN ? c->rank + 2 : 0,
                                  .ndim = c->kind == CK_CONV_PLAIN ? 0 : c->rank + 2};
    return CK_OK;
}

/* ---- C options ------------------------------------------------------------------ */

/* The shape-like options every class has. */
static ck_status spatial_opts(ck_conv_args *a, const ck_layer_class *cls, const int64_t ks[3], const int64_t st[3],
                              const int64_t dil[3], const char *padding, const char *data_format)
{
    static const int64_t ones[3] = {1, 1, 1}, none[3] = {0, 0, 0};
    ck_conv_kind kind;
    int rank;
    ck_conv_class_info(cls, &kind, &rank);
    int given = 0;
    for (int i = 0; i < rank; i++) given |= ks[i] != 0;
    if (!given) return ck_error(CK_VALUE_ERROR, "%s: `kernel_size` is required", name_of(cls));
    CK_TRY(ck_sp_tuple_opts(ks, rank, none, name_of(cls), "kernel_size", 0, a->kernel_size));
    CK_TRY(ck_sp_tuple_opts(st, rank, ones, name_of(cls), "strides", 1, a->strides));
    CK_TRY(ck_sp_tuple_opts(dil, rank, ones, name_of(cls), "dilation_rate", 0, a->dilation));
    CK_TRY(parse_padding(padding, cls, kind, rank, &a->padding));
    return ck_conv_parse_data_format(data_format, 0, &a->channels_first);
}

/* Creates the layer from parsed args (freed in every case). */
#define FINISH_FROM_OPTS(cls, o, a, st, out)                                                                  \
    do {                                                                                                      \
        ck_layer *layer_ = NULL;                                                                              \
        if ((st) == CK_OK) (st) = check_args(&(a), kind_, rank_, name_of(cls));                               \
        if ((st) == CK_OK) (st) = CK_ARG_CREATE((cls), (o), &layer_);                                         \
        if ((st) == CK_OK) (st) = ck_conv_layer_finish(layer_, &(a));                                         \
        ck_conv_args_free(&(a));                                                                              \
        if ((st) != CK_OK) {                                                                                  \
            ck_layer_free(layer_);                                                                            \
            return (st);                                                                                      \
        }                                                                                                     \
        *(out) = layer_;                                                                                      \
        return CK_OK;                                                                                         \
    } while (0)

static ck_status conv_from_opts(const ck_layer_class *cls, ck_layer **out, const ck_conv_opts *o)
{
    CK_NEED(out);
    if (!o) return ck_error(CK_VALUE_ERROR, "%s: options are required (filters, kernel_size)", name_of(cls));
    ck_conv_kind kind_;
    int rank_;
    ck_conv_class_info(cls, &kind_, &rank_);
    ck_conv_args a = {.filters = o->filters, .groups = o->groups ? o->groups : 1, .use_bias = !o->no_bias,
                      .depth_multiplier = 1};
    ck_status st = spatial_opts(&a, cls, o->kernel_size, o->strides, o->dilation_rate, o->padding, o->data_format);
    if (st == CK_OK && o->output_padding[0].set) {
        if (kind_ != CK_CONV_TRANSPOSE)
            st = ck_error(CK_VALUE_ERROR, "%s: `output_padding` is only for transposed convolutions", name_of(cls));
        a.has_output_padding = 1;
        for (int i = 0; i < rank_ && st == CK_OK; i++) {
            const ck_opt_int *v = &o->output_padding[i];
            int only_first = 1;
            for (int j = 1; j < rank_; j++) only_first &= !o->output_padding[j].set;
            a.output_padding[i] = only_first ? o->output_padding[0].value : v->value;
            if (!only_first && !v->set)
                st = ck_error(CK_VALUE_ERROR, "%s: `output_padding` gives some dims and not others", name_of(cls));
            else if (a.output_padding[i] < 0)
                st = ck_error(CK_VALUE_ERROR, "The `output_padding` argument must be a tuple of %d integers. "
                              "Received: %lld including {%lld} that does not satisfy the requirement `>= 0`.",
                              rank_, (long long)a.output_padding[i], (long long)a.output_padding[i]);
        }
    }
    if (st == CK_OK)
        st = ck_kernel_params_from_opts(&a.params, o->activation, o->kernel_initializer, o->bias_initializer,
                                        o->kernel_regularizer, o->bias_regularizer, o->kernel_constraint,
                                        o->bias_constraint);
    FINISH_FROM_OPTS(cls, o, a, st, out);
}

ck_status ck_conv1d(ck_layer **out, const ck_conv_opts *o)
{
    CK_NEED(out);
    return conv_from_opts(&ck_conv1d_class, out, o);
}
ck_status ck_conv3d(ck_layer **out, const ck_conv_opts *o)
{
    CK_NEED(out);
    return conv_from_opts(&ck_conv3d_class, out, o);
}
ck_status ck_conv1d_transpose(ck_layer **out, const ck_conv_opts *o)
{
    CK_NEED(out);
    return conv_from_opts(&ck_conv1d_transpose_class, out, o);
}
ck_status ck_conv2d_transpose(ck_layer **out, const ck_conv_opts *o)
{
    CK_NEED(out);
    return conv_from_opts(&ck_conv2d_transpose_class, out, o);
}
ck_status ck_conv3d_transpose(ck_layer **out, const ck_conv_opts *o)
{
    CK_NEED(out);
    return conv_from_opts(&ck_conv3d_transpose_class, out, o);
}

/* Grouped Conv2D, from Conv2D's own options (conv2d.c hands them over). */
ck_status ck_conv2d_grouped_from_opts(ck_layer **out, const ck_conv2d_opts *o)
{
    ck_conv_opts c = {.filters = o->filters, .kernel_size = {o->kernel_size[0], o->kernel_size[1]},
                      .strides = {o->strides[0], o->strides[1]}, .padding = o->padding,
                      .data_format = o->data_format, .dilation_rate = {o->dilation_rate[0], o->dilation_rate[1]},
                      .groups = o->groups, .activation = o->activation, .no_bias = o->no_bias,
                      .kernel_initializer = o->kernel_initializer, .bias_initializer = o->bias_initializer,
                      .kernel_regularizer = o->kernel_regularizer, .bias_regularizer = o->bias_regularizer,
                      .kernel_constraint = o->kernel_constraint, .bias_constraint = o->bias_constraint,
                      .name = o->name, .frozen = o->frozen, .dtype = o->dtype, .input_shape = o->input_shape,
                      .batch_size = o->batch_size, .activity_regularizer = o->activity_regularizer};
    return conv_from_opts(&ck_conv2d_grouped_class, out, &c);
}

/* The depthwise_* / pointwise_* objects from option strings. */
static ck_status dw_pw_opts(ck_conv_args *a, const char *dwi, const char *dwr, const char *dwc, const char *pwi,
                            const char *pwr, const char *pwc)
{
    ck_status st = CK_OK;
    if (dwi) st = ck_initializer_new(&a->dw_init, dwi);
    if (st == CK_OK && dwr) st = ck_regularizer_new(&a->dw_reg, dwr);
    if (st == CK_OK && dwc) st = ck_constraint_new(&a->dw_con, dwc);
    if (st == CK_OK && pwi) st = ck_initializer_new(&a->pw_init, pwi);
    if (st == CK_OK && pwr) st = ck_regularizer_new(&a->pw_reg, pwr);
    if (st == CK_OK && pwc) st = ck_constraint_new(&a->pw_con, pwc);
    return st;
}

static ck_status depthwise_from_opts(const ck_layer_class *cls, ck_layer **out, const ck_depthwise_conv_opts *o)
{
    CK_NEED(out);
    if (!o) return ck_error(CK_VALUE_ERROR, "%s: options are required (kernel_size)", name_of(cls));
    ck_conv_kind kind_;
    int rank_;
    ck_conv_class_info(cls, &kind_, &rank_);
    ck_conv_args a = {.groups = 1, .use_bias = !o->no_bias,
                      .depth_multiplier = o->depth_multiplier ? o->depth_multiplier : 1};
    ck_status st = spatial_opts(&a, cls, o->kernel_size, o->strides, o->dilation_rate, o->padding, o->data_format);
    if (st == CK_OK)
        st = ck_kernel_params_from_opts(&a.params, o->activation, NULL, o->bias_initializer, NULL,
                                        o->bias_regularizer, NULL, o->bias_constraint);
    if (st == CK_OK)
        st = dw_pw_opts(&a, o->depthwise_initializer, o->depthwise_regularizer, o->depthwise_constraint, NULL, NULL,
                        NULL);
    FINISH_FROM_OPTS(cls, o, a, st, out);
}

ck_status ck_depthwise_conv1d(ck_layer **out, const ck_depthwise_conv_opts *o)
{
    CK_NEED(out);
    return depthwise_from_opts(&ck_depthwise_conv1d_class, out, o);
}
ck_status ck_depthwise_conv2d(ck_layer **out, const ck_depthwise_conv_opts *o)
{
    CK_NEED(out);
    return depthwise_from_opts(&ck_depthwise_conv2d_class, out, o);
}

static ck_status separable_from_opts(const ck_layer_class *cls, ck_layer **out, const ck_separable_conv_opts *o)
{
    CK_NEED(out);
    if (!o) return ck_error(CK_VALUE_ERROR, "%s: options are required (filters, kernel_size)", name_of(cls));
    ck_conv_kind kind_;
    int rank_;
    ck_conv_class_info(cls, &kind_, &rank_);
    ck_conv_args a = {.filters = o->filters, .groups = 1, .use_bias = !o->no_bias,
                      .depth_multiplier = o->depth_multiplier ? o->depth_multiplier : 1};
    ck_status st = spatial_opts(&a, cls, o->kernel_size, o->strides, o->dilation_rate, o->padding, o->data_format);
    if (st == CK_OK)
        st = ck_kernel_params_from_opts(&a.params, o->activation, NULL, o->bias_initializer, NULL,
                                        o->bias_regularizer, NULL, o->bias_constraint);
    if (st == CK_OK)
        st = dw_pw_opts(&a, o->depthwise_initializer, o->depthwise_regularizer, o->depthwise_constraint,
                        o->pointwise_initializer, o->pointwise_regularizer, o->pointwise_constraint);
    FINISH_FROM_OPTS(cls, o, a, st, out);
}

ck_status ck_separable_conv1d(ck_layer **out, const ck_separable_conv_opts *o)
{
    CK_NEED(out);
    return separable_from_opts(&ck_separable_conv1d_class, out, o);
}
ck_status ck_separable_conv2d(ck_layer **out, const ck_separable_conv_opts *o)
{
    CK_NEED(out);
    return separable_from_opts(&ck_separable_conv2d_class, out, o);
}

/* ---- configs ---------------------------------------------------------------------- */

ck_status ck_conv_layer_from_config(const ck_layer_class *cls, const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {
        "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups", "activation",
        "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
        "kernel_constraint", "bias_constraint", "output_padding", "depth_multiplier", "depthwise_initializer",
        "pointwise_initializer", "depthwise_regularizer", "pointwise_regularizer", "depthwise_constraint",
        "pointwise_constraint",
        /* Keras 3 */
        "lora_rank", "lora_alpha", NULL};
    const char *name = name_of(cls);
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", name);
    const json_t *lora = json_object_get(c, "lora_rank");
    if (lora && !json_is_null(lora))
        return ck_error(CK_NOT_IMPLEMENTED, "%s with LoRA (lora_rank) is not supported", name);
    ck_conv_kind kind;
    int rank;
    ck_conv_class_info(cls, &kind, &rank);
    ck_conv_args a = {.groups = 1, .use_bias = 1, .depth_multiplier = 1, .strides = {1, 1, 1},
                      .dilation = {1, 1, 1}};
    int has = 0;
    if (kind != CK_CONV_DEPTHWISE) {
        CK_TRY(ck_arg_int(json_object_get(c, "filters"), name, "filters", &a.filters, &has));
        if (!has) return ck_error(CK_VALUE_ERROR, "%s config: `filters` is required", name);
    }
    const json_t *ks = json_object_get(c, "kernel_size");
    if (!ks || json_is_null(ks)) return ck_error(CK_VALUE_ERROR, "%s config: `kernel_size` is required", name);
    CK_TRY(ck_sp_tuple_json(ks, rank, name, "kernel_size", 0, a.kernel_size));
    CK_TRY(ck_sp_tuple_json(json_object_get(c, "strides"), rank, name, "strides", 1, a.strides));
    CK_TRY(ck_sp_tuple_json(json_object_get(c, "dilation_rate"), rank, name, "dilation_rate", 0, a.dilation));
    const json_t *pad = json_object_get(c, "padding");
    if (pad && !json_is_null(pad) && !json_is_string(pad))
        return ck_error(CK_VALUE_ERROR, "%s config: `padding` must be a string", name);
    CK_TRY(parse_padding(pad ? json_string_value(pad) : NULL, cls, kind, rank, &a.padding));
    CK_TRY(ck_conv_data_format_json(json_object_get(c, "data_format"), name, "data_format", 0, &a.channels_first));
    int64_t groups = 1;
    CK_TRY(ck_arg_int(json_object_get(c, "groups"), name, "groups", &groups, NULL));
    a.groups = groups == 0 ? 1 : groups; /* `groups or 1` */
    CK_TRY(ck_arg_bool(json_object_get(c, "use_bias"), name, "use_bias", &a.use_bias));
    CK_TRY(ck_arg_int(json_object_get(c, "depth_multiplier"), name, "depth_multiplier", &a.depth_multiplier, NULL));
    const json_t *op = json_object_get(c, "output_padding");
    if (op && !json_is_null(op)) {
        if (kind != CK_CONV_TRANSPOSE) return ck_error(CK_TYPE_ERROR, "Keyword argument not understood: output_padding");
        CK_TRY(ck_sp_tuple_json(op, rank, name, "output_padding", 1, a.output_padding));
        a.has_output_padding = 1;
    }
    CK_TRY(check_args(&a, kind, rank, name));
    ck_status st = ck_kernel_params_from_json(&a.params, c);
    if (st == CK_OK) st = ck_initializer_from_json(json_object_get(c, "depthwise_initializer"), &a.dw_init);
    if (st == CK_OK) st = ck_initializer_from_json(json_object_get(c, "pointwise_initializer"), &a.pw_init);
    if (st == CK_OK) st = ck_regularizer_from_json(json_object_get(c, "depthwise_regularizer"), &a.dw_reg);
    if (st == CK_OK) st = ck_regularizer_from_json(json_object_get(c, "pointwise_regularizer"), &a.pw_reg);
    if (st == CK_OK) st = ck_constraint_from_json(json_object_get(c, "depthwise_constraint"), &a.dw_con);
    if (st == CK_OK) st = ck_constraint_from_json(json_object_get(c, "pointwise_constraint"), &a.pw_con);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = ck_layer_create_from_config(cls, c, keys, &layer);
    if (st == CK_OK) st = ck_conv_layer_finish(layer, &a);
    ck_conv_args_free(&a);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

ck_status ck_conv_layer_get_config(const ck_layer *layer, json_t *j)
{
    const ck_conv_layer *c = (const ck_conv_layer *)layer;
    const ck_conv_args *a = &c->a;
    const int r = c->rank;
    static const char *const pads[] = {"valid", "same", "causal"};
    ck_status st = CK_OK;
    if (c->kind != CK_CONV_DEPTHWISE) st = ck_json_set(j, "filters", json_integer(a->filters));
    if (st == CK_OK) st = ck_json_set(j, "kernel_size", ck_sp_tuple_to_json(a->kernel_size, r));
    if (st == CK_OK) st = ck_json_set(j, "strides", ck_sp_tuple_to_json(a->strides, r));
    if (st == CK_OK) st = ck_json_set(j, "padding", json_string(pads[a->padding]));
    if (st == CK_OK) st = ck_json_set(j, "data_format", ck_sp_data_format_to_json(a->channels_first));
    /* tf.keras' Conv3DTranspose drops dilation_rate from its config. */
    if (st == CK_OK && layer->cls != &ck_conv3d_transpose_class)
        st = ck_json_set(j, "dilation_rate", ck_sp_tuple_to_json(a->dilation, r));
    if (st == CK_OK) st = ck_json_set(j, "groups", json_integer(a->groups));
    if (st != CK_OK) return st;
    const ck_kernel_params *p = &a->params;
    if (c->kind == CK_CONV_DEPTHWISE) {
        st = ck_json_set(j, "activation", ck_activation_to_json(p->activation));
        if (st == CK_OK) st = ck_json_set(j, "use_bias", json_boolean(a->use_bias));
        if (st == CK_OK) st = ck_json_set(j, "bias_initializer", ck_initializer_to_json(p->bias_initializer));
        if (st == CK_OK) st = ck_json_set(j, "bias_regularizer", ck_regularizer_to_json(p->bias_regularizer));
        if (st == CK_OK)
            st = ck_json_set(j, "activity_regularizer", ck_regularizer_to_json(layer->activity_regularizer));
        if (st == CK_OK) st = ck_json_set(j, "bias_constraint", ck_constraint_to_json(p->bias_constraint));
        if (st == CK_OK) st = ck_json_set(j, "depth_multiplier", json_integer(a->depth_multiplier));
        if (st == CK_OK) st = ck_json_set(j, "depthwise_initializer", ck_initializer_to_json(a->dw_init));
        if (st == CK_OK) st = ck_json_set(j, "depthwise_regularizer", ck_regularizer_to_json(a->dw_reg));
        if (st == CK_OK) st = ck_json_set(j, "depthwise_constraint", ck_constraint_to_json(a->dw_con));
        return st;
    }
    st = ck_kernel_params_to_json(p, a->use_bias, layer->activity_regularizer, j);
    if (st == CK_OK && c->kind == CK_CONV_TRANSPOSE)
        st = ck_json_set(j, "output_padding",
                         a->has_output_padding ? ck_sp_tuple_to_json(a->output_padding, r) : json_null());
    if (st == CK_OK && c->kind == CK_CONV_SEPARABLE) {
        st = ck_json_set(j, "depth_multiplier", json_integer(a->depth_multiplier));
        if (st == CK_OK) st = ck_json_set(j, "depthwise_initializer", ck_initializer_to_json(a->dw_init));
        if (st == CK_OK) st = ck_json_set(j, "pointwise_initializer", ck_initializer_to_json(a->pw_init));
        if (st == CK_OK) st = ck_json_set(j, "depthwise_regularizer", ck_regularizer_to_json(a->dw_reg));
        if (st == CK_OK) st = ck_json_set(j, "pointwise_regularizer", ck_regularizer_to_json(a->pw_reg));
        if (st == CK_OK) st = ck_json_set(j, "depthwise_constraint", ck_constraint_to_json(a->dw_con));
        if (st == CK_OK) st = ck_json_set(j, "pointwise_constraint", ck_constraint_to_json(a->pw_con));
    }
    return st;
}
